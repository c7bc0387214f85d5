import { Injectable } from '@nestjs/common';
import { AuditLogRepository } from '../audit/audit-log.repository';
import { type Actor } from '../audit/audit-event';
import { watchersOf } from '../devices/devices.events';
import { RealtimeService } from '../realtime/realtime.service';
import { type PlanResponse, toPlanResponse } from './dto/plan.response';
import { type PlanRecord } from './plan';
import { REMEDIATION_UPDATED } from './remediation.events';

/**
 * What follows every change of a plan, on the instance that made it: its audit event and
 * `remediation:updated` to the portals watching its device (its customer's room and the device's room).
 */
@Injectable()
export class PlanAnnouncer {
  constructor(
    private readonly audit: AuditLogRepository,
    private readonly realtime: RealtimeService,
  ) {}

  async record(
    plan: PlanRecord,
    actor: Actor,
    action: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.audit.append({
      actor,
      action: `remediation.${action}`,
      subjectType: 'remediation_plan',
      subjectId: plan.id,
      customerId: plan.customerId,
      details: { sessionId: plan.sessionId, deviceId: plan.deviceId, ...details },
    });
  }

  announce(plan: PlanRecord): PlanResponse {
    const response = toPlanResponse(plan);
    this.realtime.toPortal(
      watchersOf({ id: plan.deviceId, customerId: plan.customerId }),
      REMEDIATION_UPDATED,
      response,
    );
    return response;
  }
}

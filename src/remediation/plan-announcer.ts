import { Injectable } from '@nestjs/common';
import { AuditLogRepository } from '../audit/audit-log.repository';
import { type Actor } from '../audit/audit-event';
import { watchersOf } from '../devices/devices.events';
import { MetricsService } from '../infra/metrics/metrics.service';
import { RealtimeService } from '../realtime/realtime.service';
import { type PlanResponse, toPlanResponse } from './dto/plan.response';
import { PLAN_STATUSES, type PlanRecord, type PlanStatus } from './plan';
import { REMEDIATION_UPDATED } from './remediation.events';

/**
 * What follows every change of a plan, on the instance that made it: its audit event and
 * `remediation:updated` to the portals watching its device (its customer's room and the device's room).
 */
/** The statuses a plan never leaves. */
export const FINAL_PLAN_STATUSES: readonly PlanStatus[] = PLAN_STATUSES.filter(
  (status) => !['proposed', 'approved', 'executing'].includes(status),
);

@Injectable()
export class PlanAnnouncer {
  constructor(
    private readonly audit: AuditLogRepository,
    private readonly realtime: RealtimeService,
    private readonly metrics: MetricsService,
  ) {
    metrics.declarePlanStatuses(FINAL_PLAN_STATUSES);
  }

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

  /** Called once per change of a plan, so a plan that reaches a final status is counted once. */
  announce(plan: PlanRecord): PlanResponse {
    if (FINAL_PLAN_STATUSES.includes(plan.status)) this.metrics.countPlanEnded(plan.status);
    const response = toPlanResponse(plan);
    this.realtime.toPortal(
      watchersOf({ id: plan.deviceId, customerId: plan.customerId }),
      REMEDIATION_UPDATED,
      response,
    );
    return response;
  }
}

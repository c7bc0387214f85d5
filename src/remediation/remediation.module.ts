import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { DevicesModule } from '../devices/devices.module';
import { storageAdapter } from '../infra/adapters';
import { RealtimeModule } from '../realtime/realtime.module';
import { SessionsModule } from '../sessions/sessions.module';
import { PlanAnnouncer } from './plan-announcer';
import { PlanExecutionService } from './plan-execution.service';
import { PlanRepository } from './plan.repository';
import { RemediationController } from './remediation.controller';
import { RemediationService } from './remediation.service';
import { SqlPlanRepository } from './storage/sql-plan.repository';
import { SupabasePlanRepository } from './storage/supabase-plan.repository';

/**
 * Remediation plans (docs/guide.md#remediation-plans; issue 12): proposal by backend services, the customer's
 * decision bound to the plan's hash, and execution step by step as commands through the delivery engine
 * (CommandDelivery, from sessions). The only writer of the `remediation_plans` rows.
 */
@Module({
  imports: [AuditModule, DevicesModule, RealtimeModule, SessionsModule],
  controllers: [RemediationController],
  providers: [
    RemediationService,
    PlanExecutionService,
    PlanAnnouncer,
    storageAdapter(PlanRepository, { sql: SqlPlanRepository, supabase: SupabasePlanRepository }),
  ],
})
export class RemediationModule {}

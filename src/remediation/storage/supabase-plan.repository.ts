import { Injectable } from '@nestjs/common';
import { type SupabaseClient } from '@supabase/supabase-js';
import { isUuid } from '../../common/uuid';
import { callFunction } from '../../infra/database/supabase/call-function';
import { failureFrom } from '../../infra/database/supabase/postgrest-error';
import { InjectSupabase } from '../../infra/supabase/supabase-client.provider';
import { SessionClosedError } from '../../sessions/sessions.errors';
import {
  type NewPlan,
  type PlanAdvance,
  type PlanCancellation,
  type PlanDecision,
  type PlanDecisionOutcome,
  type PlanExpiry,
  type PlanRecord,
} from '../plan';
import { PlanRepository } from '../plan.repository';
import {
  type AdvanceResult,
  advanceOutcome,
  type CancellationResult,
  cancellationOutcome,
  decisionArguments,
  decisionOutcome,
  type DecisionResult,
  proposalArguments,
  proposedPlan,
  type ProposalResult,
  type PlanRow,
  toPlanRecord,
} from './plan-row';

@Injectable()
export class SupabasePlanRepository extends PlanRepository {
  constructor(@InjectSupabase() private readonly supabase: SupabaseClient) {
    super();
  }

  private get plans() {
    return this.supabase.from('remediation_plans');
  }

  async propose(plan: NewPlan): Promise<PlanRecord> {
    if (!isUuid(plan.sessionId)) throw new SessionClosedError(plan.sessionId);
    const result = await callFunction<ProposalResult>(
      this.supabase,
      'propose_remediation_plan',
      proposalArguments(plan),
    );
    return proposedPlan(result, plan.sessionId);
  }

  async findById(id: string): Promise<PlanRecord | null> {
    if (!isUuid(id)) return null;
    const { data, error } = await this.plans.select('*').eq('id', id).retry(false).maybeSingle<PlanRow>();
    if (error) throw failureFrom(error);
    return data ? toPlanRecord(data) : null;
  }

  async listBySession(sessionId: string): Promise<PlanRecord[]> {
    if (!isUuid(sessionId)) return [];
    const { data, error } = await this.plans
      .select('*')
      .eq('session_id', sessionId)
      .order('created_at', { ascending: true })
      .order('id', { ascending: true })
      .retry(false)
      .overrideTypes<PlanRow[], { merge: false }>();
    if (error) throw failureFrom(error);
    return data.map(toPlanRecord);
  }

  async decide(id: string, decision: PlanDecision): Promise<PlanDecisionOutcome> {
    if (!isUuid(id)) return { outcome: 'not_found' };
    const result = await callFunction<DecisionResult>(
      this.supabase,
      'decide_remediation_plan',
      decisionArguments(id, decision),
    );
    return decisionOutcome(result);
  }

  async advance(id: string, stepExpiresInSec: number): Promise<PlanAdvance> {
    if (!isUuid(id)) return { outcome: 'not_found' };
    const result = await callFunction<AdvanceResult>(this.supabase, 'advance_remediation_plan', {
      p_id: id,
      p_expires_in_sec: stepExpiresInSec,
    });
    return advanceOutcome(result);
  }

  async cancel(id: string): Promise<PlanCancellation> {
    if (!isUuid(id)) return { outcome: 'not_found' };
    const result = await callFunction<CancellationResult>(this.supabase, 'cancel_remediation_plan', {
      p_id: id,
    });
    return cancellationOutcome(result);
  }

  async expire(which: PlanExpiry, limit: number): Promise<PlanRecord[]> {
    const sessionId = 'sessionId' in which ? which.sessionId : null;
    if (sessionId !== null && !isUuid(sessionId)) return [];
    const rows = await callFunction<PlanRow[]>(this.supabase, 'expire_remediation_plans', {
      p_session_id: sessionId,
      p_limit: limit,
    });
    return rows.map(toPlanRecord);
  }

  async listToAdvance(queuedBefore: Date, limit: number): Promise<PlanRecord[]> {
    const rows = await callFunction<PlanRow[]>(this.supabase, 'remediation_plans_to_advance', {
      p_queued_before: queuedBefore.toISOString(),
      p_limit: limit,
    });
    return rows.map(toPlanRecord);
  }
}

import { Injectable } from '@nestjs/common';
import { isUuid } from '../../common/uuid';
import { SqlExecutor } from '../../infra/database/sql/sql-executor';
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
export class SqlPlanRepository extends PlanRepository {
  constructor(private readonly sql: SqlExecutor) {
    super();
  }

  private async call<Result>(text: string, params: readonly unknown[]): Promise<Result> {
    const [row] = await this.sql.query<{ result: Result }>(text, params);
    if (!row) throw new Error(`${text} returned no row`);
    return row.result;
  }

  async propose(plan: NewPlan): Promise<PlanRecord> {
    if (!isUuid(plan.sessionId)) throw new SessionClosedError(plan.sessionId);
    const args = proposalArguments(plan);
    const result = await this.call<ProposalResult>(
      'select public.propose_remediation_plan($1, $2, $3, $4, $5::jsonb, $6, $7, $8) as result',
      [
        args.p_session_id,
        args.p_summary,
        args.p_rationale,
        args.p_risk,
        // jsonb as JSON text: the drivers would turn a JavaScript array into a PostgreSQL array.
        JSON.stringify(args.p_steps),
        args.p_plan_hash,
        args.p_proposed_by,
        args.p_expires_in_sec,
      ],
    );
    return proposedPlan(result, plan.sessionId);
  }

  async findById(id: string): Promise<PlanRecord | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.sql.query<PlanRow>('select * from public.remediation_plans where id = $1', [id]);
    return row ? toPlanRecord(row) : null;
  }

  async listBySession(sessionId: string): Promise<PlanRecord[]> {
    if (!isUuid(sessionId)) return [];
    const rows = await this.sql.query<PlanRow>(
      'select * from public.remediation_plans where session_id = $1 order by created_at, id',
      [sessionId],
    );
    return rows.map(toPlanRecord);
  }

  async decide(id: string, decision: PlanDecision): Promise<PlanDecisionOutcome> {
    if (!isUuid(id)) return { outcome: 'not_found' };
    const args = decisionArguments(id, decision);
    const result = await this.call<DecisionResult>(
      'select public.decide_remediation_plan($1, $2, $3, $4, $5) as result',
      [args.p_id, args.p_decision, args.p_plan_hash, args.p_decided_by, args.p_reason],
    );
    return decisionOutcome(result);
  }

  async advance(id: string, stepExpiresInSec: number): Promise<PlanAdvance> {
    if (!isUuid(id)) return { outcome: 'not_found' };
    const result = await this.call<AdvanceResult>(
      'select public.advance_remediation_plan($1, $2) as result',
      [id, stepExpiresInSec],
    );
    return advanceOutcome(result);
  }

  async cancel(id: string): Promise<PlanCancellation> {
    if (!isUuid(id)) return { outcome: 'not_found' };
    const result = await this.call<CancellationResult>(
      'select public.cancel_remediation_plan($1) as result',
      [id],
    );
    return cancellationOutcome(result);
  }

  async expire(which: PlanExpiry, limit: number): Promise<PlanRecord[]> {
    const sessionId = 'sessionId' in which ? which.sessionId : null;
    if (sessionId !== null && !isUuid(sessionId)) return [];
    const rows = await this.sql.query<PlanRow>('select * from public.expire_remediation_plans($1, $2)', [
      sessionId,
      limit,
    ]);
    return rows.map(toPlanRecord);
  }

  async listToAdvance(queuedBefore: Date, limit: number): Promise<PlanRecord[]> {
    const rows = await this.sql.query<PlanRow>('select * from public.remediation_plans_to_advance($1, $2)', [
      queuedBefore,
      limit,
    ]);
    return rows.map(toPlanRecord);
  }
}

import { type Actor } from '../../audit/audit-event';
import { SessionClosedError } from '../../sessions/sessions.errors';
import {
  type NewPlan,
  type PlanAdvance,
  type PlanCancellation,
  type PlanDecision,
  type PlanDecisionOutcome,
  type PlanFailure,
  type PlanRecord,
  type PlanRisk,
  type PlanStatus,
  type PlanStepRecord,
} from '../plan';

/**
 * A `remediation_plans` row as pg/PGlite (dates as Date) and PostgREST or `to_jsonb` (dates as strings)
 * return it.
 */
export interface PlanRow {
  id: string;
  session_id: string;
  device_id: string;
  customer_id: string;
  status: PlanStatus;
  summary: string;
  rationale: string | null;
  risk: PlanRisk;
  steps: PlanStepRecord[];
  plan_hash: string;
  proposed_by: Actor;
  decided_by: Actor | null;
  decision_reason: string | null;
  decided_at: Date | string | null;
  expires_at: Date | string;
  current_step: number | null;
  failure: PlanFailure | null;
  revision: number;
  created_at: Date | string;
  updated_at: Date | string;
}

export function toPlanRecord(row: PlanRow): PlanRecord {
  return {
    id: row.id,
    sessionId: row.session_id,
    deviceId: row.device_id,
    customerId: row.customer_id,
    status: row.status,
    summary: row.summary,
    rationale: row.rationale,
    risk: row.risk,
    steps: row.steps,
    planHash: row.plan_hash,
    proposedBy: row.proposed_by,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at === null ? null : new Date(row.decided_at),
    decisionReason: row.decision_reason,
    expiresAt: new Date(row.expires_at),
    currentStep: row.current_step,
    failure: row.failure,
    revision: row.revision,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** The stored form of proposed steps: each with its index, no command yet, pending. */
export function storedSteps(plan: NewPlan): PlanStepRecord[] {
  return plan.steps.map((step, index) => ({
    index,
    type: step.type,
    params: step.params,
    description: step.description,
    timeoutSec: step.timeoutSec,
    commandId: null,
    status: 'pending',
  }));
}

/** The arguments of `propose_remediation_plan`. */
export function proposalArguments(plan: NewPlan) {
  return {
    p_session_id: plan.sessionId,
    p_summary: plan.summary,
    p_rationale: plan.rationale,
    p_risk: plan.risk,
    p_steps: storedSteps(plan),
    p_plan_hash: plan.planHash,
    p_proposed_by: plan.proposedBy,
    p_expires_in_sec: plan.expiresInSec,
  };
}

/** The arguments of `decide_remediation_plan`. */
export function decisionArguments(id: string, decision: PlanDecision) {
  return {
    p_id: id,
    p_decision: decision.decision,
    p_plan_hash: decision.decision === 'approve' ? decision.planHash : null,
    p_decided_by: decision.decidedBy,
    p_reason: decision.decision === 'reject' ? decision.reason : null,
  };
}

/** What `propose_remediation_plan` answers. */
export type ProposalResult = { outcome: 'proposed'; plan: PlanRow } | { outcome: 'session_not_open' };

export function proposedPlan(result: ProposalResult, sessionId: string): PlanRecord {
  if (result.outcome === 'session_not_open') throw new SessionClosedError(sessionId);
  return toPlanRecord(result.plan);
}

/** What `decide_remediation_plan` answers. */
export type DecisionResult =
  { outcome: Exclude<PlanDecisionOutcome['outcome'], 'not_found'>; plan: PlanRow } | { outcome: 'not_found' };

export function decisionOutcome(result: DecisionResult): PlanDecisionOutcome {
  return result.outcome === 'not_found'
    ? result
    : { outcome: result.outcome, plan: toPlanRecord(result.plan) };
}

/** What `advance_remediation_plan` answers. */
export type AdvanceResult =
  | { outcome: 'issued'; plan: PlanRow; command: { id: string } }
  | { outcome: 'completed' | 'failed' | 'unchanged'; plan: PlanRow }
  | { outcome: 'not_found' };

export function advanceOutcome(result: AdvanceResult): PlanAdvance {
  switch (result.outcome) {
    case 'not_found':
      return result;
    case 'issued':
      return { outcome: 'issued', plan: toPlanRecord(result.plan), commandId: result.command.id };
    case 'completed':
    case 'failed':
    case 'unchanged':
      return { outcome: result.outcome, plan: toPlanRecord(result.plan) };
  }
}

/** What `cancel_remediation_plan` answers. */
export type CancellationResult =
  | { outcome: 'cancelled'; plan: PlanRow; commandId: string | null }
  | { outcome: 'not_cancellable'; plan: PlanRow }
  | { outcome: 'not_found' };

export function cancellationOutcome(result: CancellationResult): PlanCancellation {
  switch (result.outcome) {
    case 'not_found':
      return result;
    case 'cancelled':
      return { outcome: 'cancelled', plan: toPlanRecord(result.plan), commandId: result.commandId };
    case 'not_cancellable':
      return { outcome: 'not_cancellable', plan: toPlanRecord(result.plan) };
  }
}

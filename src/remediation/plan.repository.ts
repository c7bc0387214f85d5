import {
  type NewPlan,
  type PlanAdvance,
  type PlanCancellation,
  type PlanDecision,
  type PlanDecisionOutcome,
  type PlanExpiry,
  type PlanRecord,
} from './plan';

/**
 * Storage port for remediation plans. Adapters: SQL (PostgreSQL pool and embedded PGlite) and Supabase
 * (PostgREST). Every write is one SQL function of the migration that all of them call
 * (propose_remediation_plan, decide_remediation_plan, advance_remediation_plan, cancel_remediation_plan,
 * expire_remediation_plans), each a conditional change under the plan's row lock, so that of two
 * instances doing the same thing one wins and the other changes nothing. Every adapter passes the same
 * contract suite in test/storage.
 */
export abstract class PlanRepository {
  /** Proposes a plan in an open session; throws SessionClosedError when it is closed or does not exist. */
  abstract propose(plan: NewPlan): Promise<PlanRecord>;

  abstract findById(id: string): Promise<PlanRecord | null>;

  /** A session's plans, oldest first. */
  abstract listBySession(sessionId: string): Promise<PlanRecord[]>;

  /**
   * Approves or rejects a proposed plan. Approval needs the plan's own hash, an active device and an
   * open session. A plan past its expiresAt is expired by this call (outcome `expired`).
   */
  abstract decide(id: string, decision: PlanDecision): Promise<PlanDecisionOutcome>;

  /**
   * Moves an approved or executing plan on by one step, exactly once across callers: issues step 0 of an
   * approved plan; records the end of the current step once its command is final and issues the next
   * (a new queued command, issued by whoever approved the plan, expiring `stepExpiresInSec` after its
   * creation), completes the plan after the last, or fails it. Issuing checks the device is active and
   * the session open, else the plan fails naming the step.
   */
  abstract advance(id: string, stepExpiresInSec: number): Promise<PlanAdvance>;

  /** Cancels an approved or executing plan; its current command, if open, is the caller's to cancel. */
  abstract cancel(id: string): Promise<PlanCancellation>;

  /** Expires proposed plans (see PlanExpiry), at most `limit`; returns those it expired. */
  abstract expire(which: PlanExpiry, limit: number): Promise<PlanRecord[]>;

  /**
   * Plans an execution sweep should look at, oldest change first: approved ones, and executing ones whose
   * current step's command is final, or still queued and created before `queuedBefore`.
   */
  abstract listToAdvance(queuedBefore: Date, limit: number): Promise<PlanRecord[]>;
}

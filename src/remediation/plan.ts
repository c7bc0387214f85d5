import { type Actor } from '../audit/audit-event';
import { type CommandType } from '../sessions/commands/command-catalogue';

/** The Plan lifecycle (docs/guide.md#remediation-plans, issue 12 item 2); every change is one conditional update. */
export const PLAN_STATUSES = [
  'proposed',
  'approved',
  'executing',
  'completed',
  'failed',
  'rejected',
  'expired',
  'cancelled',
] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

export const PLAN_RISKS = ['low', 'medium', 'high'] as const;
export type PlanRisk = (typeof PLAN_RISKS)[number];

/**
 * Where a step is: `pending` until issued, `issued` while its command is not final (the command's own
 * status is in `command:updated`), then its command's final status; `skipped` when the plan ended before
 * it was issued, so it never reached the device.
 */
export const PLAN_STEP_STATUSES = [
  'pending',
  'issued',
  'succeeded',
  'failed',
  'timed_out',
  'expired',
  'cancelled',
  'skipped',
] as const;
export type PlanStepStatus = (typeof PLAN_STEP_STATUSES)[number];

/** A step as stored: what the customer approved, the timeout its command runs with, and its progress. */
export interface PlanStepRecord {
  index: number;
  type: CommandType;
  params: Record<string, unknown>;
  description: string;
  timeoutSec: number;
  commandId: string | null;
  status: PlanStepStatus;
}

/** Why a plan failed: the step (from 0) and its command's error, or the gateway's reason for not issuing it. */
export interface PlanFailure {
  step: number;
  code: string;
  message: string;
}

export interface PlanRecord {
  id: string;
  sessionId: string;
  deviceId: string;
  customerId: string;
  status: PlanStatus;
  summary: string;
  rationale: string | null;
  risk: PlanRisk;
  steps: PlanStepRecord[];
  planHash: string;
  proposedBy: Actor;
  decidedBy: Actor | null;
  decidedAt: Date | null;
  decisionReason: string | null;
  expiresAt: Date;
  /** The step issued last; null until the plan executes. */
  currentStep: number | null;
  failure: PlanFailure | null;
  /** 1 when proposed, one more with every change. */
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A step as proposed, validated against the command catalogue. */
export interface ProposedStep {
  type: CommandType;
  params: Record<string, unknown>;
  description: string;
  timeoutSec: number;
}

export interface NewPlan {
  /** The plan belongs to this session's device and customer. */
  sessionId: string;
  summary: string;
  rationale: string | null;
  risk: PlanRisk;
  steps: ProposedStep[];
  planHash: string;
  proposedBy: Actor;
  /** From its creation, by the database's clock: a plan not decided by then expires. */
  expiresInSec: number;
}

/** A customer's decision on a proposed plan. */
export type PlanDecision =
  | { decision: 'approve'; planHash: string; decidedBy: Actor }
  | { decision: 'reject'; reason: string | null; decidedBy: Actor };

/** What deciding came to; every outcome but not_found carries the plan as it now is. */
export type PlanDecisionOutcome =
  | { outcome: 'approved' | 'rejected'; plan: PlanRecord }
  | {
      outcome: 'expired' | 'not_proposed' | 'hash_mismatch' | 'session_not_open' | 'device_unavailable';
      plan: PlanRecord;
    }
  | { outcome: 'not_found' };

/**
 * One move of an executing plan: the next step `issued` (with its new command), the plan `completed` or
 * `failed`, or `unchanged` (its step still runs, or it has ended).
 */
export type PlanAdvance =
  | { outcome: 'issued'; plan: PlanRecord; commandId: string }
  | { outcome: 'completed' | 'failed' | 'unchanged'; plan: PlanRecord }
  | { outcome: 'not_found' };

/** Cancelling: `commandId` is the current step's command when it was still open, for the caller to cancel. */
export type PlanCancellation =
  | { outcome: 'cancelled'; plan: PlanRecord; commandId: string | null }
  | { outcome: 'not_cancellable'; plan: PlanRecord }
  | { outcome: 'not_found' };

/** Which proposed plans to expire: every one of a session (it closed), or every one past its expiresAt. */
export type PlanExpiry = { sessionId: string } | { due: true };

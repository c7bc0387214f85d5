import { type Actor } from '../../audit/audit-event';
import { type CommandType } from '../../sessions/commands/command-catalogue';
import {
  type PlanFailure,
  type PlanRecord,
  type PlanRisk,
  type PlanStatus,
  type PlanStepStatus,
} from '../plan';

export interface PlanStepResponse {
  index: number;
  type: CommandType;
  params: Record<string, unknown>;
  description: string;
  /** The command that carries the step out; null until it is issued. */
  commandId: string | null;
  status: PlanStepStatus;
}

/** The Plan object (PRODUCT §4, issue 12 item 2), as the API and every `remediation:updated` return it. */
export interface PlanResponse {
  id: string;
  sessionId: string;
  deviceId: string;
  status: PlanStatus;
  summary: string;
  rationale: string | null;
  risk: PlanRisk;
  steps: PlanStepResponse[];
  planHash: string;
  proposedBy: Actor;
  decidedBy: Actor | null;
  decidedAt: string | null;
  decisionReason: string | null;
  expiresAt: string;
  failure: PlanFailure | null;
  createdAt: string;
  updatedAt: string;
  revision: number;
}

export function toPlanResponse(plan: PlanRecord): PlanResponse {
  return {
    id: plan.id,
    sessionId: plan.sessionId,
    deviceId: plan.deviceId,
    status: plan.status,
    summary: plan.summary,
    rationale: plan.rationale,
    risk: plan.risk,
    steps: plan.steps.map((step) => ({
      index: step.index,
      type: step.type,
      params: step.params,
      description: step.description,
      commandId: step.commandId,
      status: step.status,
    })),
    planHash: plan.planHash,
    proposedBy: plan.proposedBy,
    decidedBy: plan.decidedBy,
    decidedAt: plan.decidedAt?.toISOString() ?? null,
    decisionReason: plan.decisionReason,
    expiresAt: plan.expiresAt.toISOString(),
    failure: plan.failure,
    createdAt: plan.createdAt.toISOString(),
    updatedAt: plan.updatedAt.toISOString(),
    revision: plan.revision,
  };
}

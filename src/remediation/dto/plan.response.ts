import { ACTOR_SCHEMA, type Actor } from '../../audit/audit-event';
import {
  anyOf,
  array,
  integer,
  named,
  nullable,
  object,
  oneOfValues,
  string,
  timestamp,
  uuid,
  vouch,
} from '../../common/docs/typed-schema';
import { COMMAND_TYPES, type CommandType } from '../../sessions/commands/command-catalogue';
import { commandParamsSchema } from '../../sessions/commands/command-schemas';
import {
  PLAN_RISKS,
  PLAN_STATUSES,
  PLAN_STEP_STATUSES,
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

/** The Plan object (docs/guide.md#remediation-plans, issue 12 item 2), as the API and every `remediation:updated` return it. */
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

/** The Plan object in the API documents. */
export const PLAN_SCHEMA = named(
  'Plan',
  object<PlanResponse>(
    {
      id: uuid(),
      sessionId: uuid(),
      deviceId: uuid(),
      status: oneOfValues(
        PLAN_STATUSES,
        'proposed → approved → executing → completed | failed, or rejected, expired, cancelled',
      ),
      summary: string(),
      rationale: nullable(string()),
      risk: oneOfValues(PLAN_RISKS),
      steps: array(
        object<PlanStepResponse>({
          index: integer({ minimum: 0 }),
          type: oneOfValues(COMMAND_TYPES),
          params: vouch<Record<string, unknown>>(anyOf(...COMMAND_TYPES.map(commandParamsSchema))),
          description: string(),
          commandId: nullable(uuid('The command that carries the step out; null until it is issued')),
          status: oneOfValues(PLAN_STEP_STATUSES),
        }),
      ),
      planHash: string({
        pattern: '^[0-9a-f]{64}$',
        description: 'SHA-256 (hex) of the canonical JSON of the steps; approving requires it',
      }),
      proposedBy: ACTOR_SCHEMA,
      decidedBy: nullable(ACTOR_SCHEMA),
      decidedAt: nullable(timestamp()),
      decisionReason: nullable(string()),
      expiresAt: timestamp('A plan still proposed then expires'),
      failure: nullable(
        object<PlanFailure>({
          step: integer({ minimum: 0, description: 'The step that failed, from 0' }),
          code: string(),
          message: string(),
        }),
      ),
      createdAt: timestamp(),
      updatedAt: timestamp(),
      revision: integer({ minimum: 0, description: 'Grows by one with every change; keep the highest' }),
    },
    {
      description:
        'A remediation plan (docs/guide.md#remediation-plans): proposed by a backend service, decided by its customer',
    },
  ),
);

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

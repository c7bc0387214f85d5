import { ACTOR_SCHEMA, type Actor } from '../../../audit/audit-event';
import {
  anyOf,
  integer,
  named,
  nullable,
  number,
  object,
  oneOfValues,
  optional,
  string,
  timestamp,
  uuid,
  vouch,
} from '../../../common/docs/typed-schema';
import {
  COMMAND_STATUSES,
  type CommandError,
  type CommandProgress,
  type CommandRecord,
  type CommandStatus,
} from '../command';
import { COMMAND_TYPES, type CommandType } from '../command-catalogue';
import { catalogueDescription, commandOutputSchema, commandParamsSchema } from '../command-schemas';

/** The Command object (docs/guide.md#commands), as the API and every event return it. */
export interface CommandResponse {
  id: string;
  sessionId: string;
  deviceId: string;
  type: CommandType;
  params: Record<string, unknown>;
  status: CommandStatus;
  attempt: number;
  timeoutSec: number;
  expiresAt: string;
  progress: CommandProgress | null;
  output: Record<string, unknown> | null;
  error: CommandError | null;
  issuedBy: Actor;
  createdAt: string;
  sentAt: string | null;
  deliveredAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  revision: number;
}

export const COMMAND_ERROR_SCHEMA = object<CommandError>({
  code: string({ description: "The agent's code, or the gateway's own (`undeliverable`)" }),
  message: string(),
});

/** The Command object in the API documents. */
export const COMMAND_SCHEMA = named(
  'Command',
  object<CommandResponse>(
    {
      id: uuid(),
      sessionId: uuid(),
      deviceId: uuid(),
      type: oneOfValues(COMMAND_TYPES),
      params: vouch<Record<string, unknown>>(anyOf(...COMMAND_TYPES.map(commandParamsSchema))),
      status: oneOfValues(
        COMMAND_STATUSES,
        'queued → sent → delivered → running → a final status (docs/guide.md#commands)',
      ),
      attempt: integer({ minimum: 1, description: 'Deliveries tried so far' }),
      timeoutSec: integer({ minimum: 1, description: 'How long it may run once delivered' }),
      expiresAt: timestamp('Expired if not delivered by then'),
      progress: nullable(
        object<CommandProgress>({
          message: optional(string()),
          pct: optional(number({ minimum: 0, maximum: 100 })),
        }),
      ),
      output: vouch<Record<string, unknown> | null>(
        nullable(anyOf(...COMMAND_TYPES.map(commandOutputSchema))),
      ),
      error: nullable(COMMAND_ERROR_SCHEMA),
      issuedBy: ACTOR_SCHEMA,
      createdAt: timestamp(),
      sentAt: nullable(timestamp()),
      deliveredAt: nullable(timestamp()),
      startedAt: nullable(timestamp()),
      finishedAt: nullable(timestamp()),
      revision: integer({ minimum: 0, description: 'Grows by one with every transition; keep the highest' }),
    },
    {
      description:
        'A command of a diagnostic session. `params` and `output` follow its `type`:\n' +
        catalogueDescription(COMMAND_TYPES),
    },
  ),
);

export function toCommandResponse(command: CommandRecord): CommandResponse {
  return {
    id: command.id,
    sessionId: command.sessionId,
    deviceId: command.deviceId,
    type: command.type,
    params: command.params,
    status: command.status,
    attempt: command.attempt,
    timeoutSec: command.timeoutSec,
    expiresAt: command.expiresAt.toISOString(),
    progress: command.progress,
    output: command.output,
    error: command.error,
    issuedBy: command.issuedBy,
    createdAt: command.createdAt.toISOString(),
    sentAt: command.sentAt?.toISOString() ?? null,
    deliveredAt: command.deliveredAt?.toISOString() ?? null,
    startedAt: command.startedAt?.toISOString() ?? null,
    finishedAt: command.finishedAt?.toISOString() ?? null,
    revision: command.revision,
  };
}

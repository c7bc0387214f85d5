import { ACTOR_SCHEMA, type Actor } from '../../audit/audit-event';
import {
  array,
  named,
  namedElsewhere,
  nullable,
  object,
  oneOfValues,
  string,
  timestamp,
  uuid,
} from '../../common/docs/typed-schema';
import { COMMAND_SCHEMA, type CommandResponse } from '../commands/dto/command.response';
import {
  SESSION_CLOSE_REASONS,
  SESSION_STATES,
  type SessionCloseReason,
  type SessionRecord,
  type SessionState,
} from '../session';
import { type SessionPlanView } from '../session-plans';

/** A diagnostic session as clients see it (docs/guide.md#diagnostic-sessions), in lists and in `session:updated`. */
export interface SessionResponse {
  id: string;
  deviceId: string;
  customerId: string;
  state: SessionState;
  reason: string | null;
  openedBy: Actor;
  openedAt: string;
  closedBy: Actor | null;
  closedAt: string | null;
  /** `requested` (closed by its customer) or `device_revoked` (its device was deleted). */
  closeReason: SessionCloseReason | null;
  updatedAt: string;
}

/** `GET /v1/sessions/:id`: the session with its commands and its remediation plans, each oldest first. */
export interface SessionWithCommandsResponse extends SessionResponse {
  commands: CommandResponse[];
  plans: SessionPlanView[];
}

const SESSION_FIELDS = {
  id: uuid(),
  deviceId: uuid(),
  customerId: uuid(),
  state: oneOfValues(SESSION_STATES),
  reason: nullable(string({ description: 'Why it was opened, as its customer said' })),
  openedBy: ACTOR_SCHEMA,
  openedAt: timestamp(),
  closedBy: nullable(ACTOR_SCHEMA),
  closedAt: nullable(timestamp()),
  closeReason: nullable(
    oneOfValues(SESSION_CLOSE_REASONS, '`requested` by its customer, or `device_revoked` (device deleted)'),
  ),
  updatedAt: timestamp(),
};

/** The Session object in the API documents. */
export const SESSION_SCHEMA = named('Session', object<SessionResponse>(SESSION_FIELDS));

export const SESSION_WITH_COMMANDS_SCHEMA = named(
  'SessionWithCommands',
  object<SessionWithCommandsResponse>({
    ...SESSION_FIELDS,
    commands: array(COMMAND_SCHEMA, { description: 'Oldest first' }),
    plans: array(namedElsewhere<SessionPlanView>('Plan'), {
      description: 'Its remediation plans, oldest first',
    }),
  }),
);

export function toSessionResponse(session: SessionRecord): SessionResponse {
  return {
    id: session.id,
    deviceId: session.deviceId,
    customerId: session.customerId,
    state: session.state,
    reason: session.reason,
    openedBy: session.openedBy,
    openedAt: session.openedAt.toISOString(),
    closedBy: session.closedBy,
    closedAt: session.closedAt?.toISOString() ?? null,
    closeReason: session.closeReason,
    updatedAt: session.updatedAt.toISOString(),
  };
}

import { type Actor } from '../../audit/audit-event';
import { type CommandResponse } from '../commands/dto/command.response';
import { type SessionCloseReason, type SessionRecord, type SessionState } from '../session';
import { type SessionPlanView } from '../session-plans';

/** A diagnostic session as clients see it (PRODUCT §3.2), in lists and in `session:updated`. */
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

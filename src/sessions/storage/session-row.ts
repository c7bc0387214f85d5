import { type Actor } from '../../audit/audit-event';
import { DeviceNotFoundError } from '../../devices/devices.errors';
import { type SessionCloseReason, type SessionRecord, type SessionState } from '../session';
import { SessionAlreadyOpenError } from '../sessions.errors';

/**
 * A `diagnostic_sessions` row as pg/PGlite (dates as Date) and PostgREST or `to_jsonb` (dates as strings)
 * return it.
 */
export interface SessionRow {
  id: string;
  device_id: string;
  customer_id: string;
  state: SessionState;
  reason: string | null;
  opened_by: Actor;
  opened_at: Date | string;
  closed_by: Actor | null;
  closed_at: Date | string | null;
  close_reason: SessionCloseReason | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export function toSessionRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    deviceId: row.device_id,
    customerId: row.customer_id,
    state: row.state,
    reason: row.reason,
    openedBy: row.opened_by,
    openedAt: new Date(row.opened_at),
    closedBy: row.closed_by,
    closedAt: row.closed_at === null ? null : new Date(row.closed_at),
    closeReason: row.close_reason,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** What `open_diagnostic_session` answers. */
export type SessionOpening =
  { outcome: 'opened' | 'already_open'; session: SessionRow } | { outcome: 'device_unavailable' };

/** The opened session, or the typed error the port promises for the function's other answers. */
export function openedSession(opening: SessionOpening, deviceId: string): SessionRecord {
  switch (opening.outcome) {
    case 'opened':
      return toSessionRecord(opening.session);
    case 'already_open':
      throw new SessionAlreadyOpenError(deviceId, opening.session.id);
    case 'device_unavailable':
      throw new DeviceNotFoundError(deviceId);
  }
}

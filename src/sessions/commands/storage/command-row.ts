import { type Actor } from '../../../audit/audit-event';
import { SessionClosedError } from '../../sessions.errors';
import {
  type CommandChange,
  type CommandCreation,
  type CommandError,
  type CommandProgress,
  type CommandRecord,
  type CommandStatus,
} from '../command';
import { type CommandType } from '../command-catalogue';
import { COMMAND_TRANSITIONS, type CommandTimestamp } from '../command-lifecycle';

/** A `commands` row as pg/PGlite (dates as Date) and PostgREST or `to_jsonb` (dates as strings) return it. */
export interface CommandRow {
  id: string;
  session_id: string;
  device_id: string;
  customer_id: string;
  plan_id: string | null;
  step_index: number | null;
  type: CommandType;
  params: Record<string, unknown> | null;
  status: CommandStatus;
  attempt: number;
  timeout_sec: number;
  expires_at: Date | string;
  idempotency_key: string | null;
  request_hash: string | null;
  progress: CommandProgress | null;
  output: Record<string, unknown> | null;
  error: CommandError | null;
  issued_by: Actor;
  revision: number;
  sent_at: Date | string | null;
  delivered_at: Date | string | null;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const toOptionalDate = (value: Date | string | null): Date | null =>
  value === null ? null : new Date(value);

export function toCommandRecord(row: CommandRow): CommandRecord {
  return {
    id: row.id,
    sessionId: row.session_id,
    deviceId: row.device_id,
    customerId: row.customer_id,
    planId: row.plan_id,
    stepIndex: row.step_index,
    type: row.type,
    params: row.params ?? {},
    status: row.status,
    attempt: row.attempt,
    timeoutSec: row.timeout_sec,
    expiresAt: new Date(row.expires_at),
    progress: row.progress,
    output: row.output,
    error: row.error,
    issuedBy: row.issued_by,
    idempotencyKey: row.idempotency_key,
    requestHash: row.request_hash,
    revision: row.revision,
    createdAt: new Date(row.created_at),
    sentAt: toOptionalDate(row.sent_at),
    deliveredAt: toOptionalDate(row.delivered_at),
    startedAt: toOptionalDate(row.started_at),
    finishedAt: toOptionalDate(row.finished_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** What `create_command` answers. */
export type CommandCreationResult =
  | { outcome: 'created'; command: CommandRow; queued?: number }
  | { outcome: 'existing'; command: CommandRow }
  | { outcome: 'session_not_open' };

export function createdCommand(result: CommandCreationResult, sessionId: string): CommandCreation {
  if (result.outcome === 'session_not_open') throw new SessionClosedError(sessionId);
  const command = toCommandRecord(result.command);
  if (result.outcome === 'existing') return { command, created: false };
  return { command, created: true, ...(result.queued === undefined ? {} : { queued: result.queued }) };
}

const TIMESTAMP_COLUMNS: Record<CommandTimestamp, string> = {
  sentAt: 'sent_at',
  deliveredAt: 'delivered_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
};

/** The arguments of `transition_command`, from the change and the lifecycle rule of its status. */
export function transitionArguments(id: string, from: readonly CommandStatus[], change: CommandChange) {
  const rule = COMMAND_TRANSITIONS[change.status];
  return {
    p_id: id,
    p_from: [...from],
    p_to: change.status,
    p_stamp: rule.stamps === null ? null : TIMESTAMP_COLUMNS[rule.stamps],
    p_bump_attempt: rule.countsAttempt,
    p_progress: change.progress ?? null,
    p_output: change.output ?? null,
    p_error: change.error ?? null,
  };
}

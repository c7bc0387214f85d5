import { type Actor } from '../../../audit/audit-event';
import { type CommandError, type CommandProgress, type CommandRecord, type CommandStatus } from '../command';
import { type CommandType } from '../command-catalogue';

/** The Command object (PRODUCT §4), as the API and every event return it. */
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

import { type Actor } from '../../audit/audit-event';
import { type CommandType } from './command-catalogue';

/** The Command lifecycle (docs/guide.md#the-command-lifecycle-and-its-clocks); the transitions between them are in command-lifecycle.ts. */
export const COMMAND_STATUSES = [
  'queued',
  'sent',
  'delivered',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'expired',
  'cancelled',
] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/** The last progress an agent reported. */
export interface CommandProgress {
  message?: string;
  pct?: number;
}

/** Why a command failed: from the agent, or the gateway's own (`undeliverable`). */
export interface CommandError {
  code: string;
  message: string;
}

/** A command as stored. The API's Command object (dto/command.response.ts) leaves the bookkeeping out. */
export interface CommandRecord {
  id: string;
  sessionId: string;
  deviceId: string;
  customerId: string;
  /** Set for the steps of a remediation plan. */
  planId: string | null;
  stepIndex: number | null;
  type: CommandType;
  params: Record<string, unknown>;
  status: CommandStatus;
  /** The delivery attempt, from 1; a command sent and never acknowledged is queued again as the next. */
  attempt: number;
  timeoutSec: number;
  /** A command not delivered by then expires. */
  expiresAt: Date;
  progress: CommandProgress | null;
  output: Record<string, unknown> | null;
  error: CommandError | null;
  issuedBy: Actor;
  idempotencyKey: string | null;
  /** A digest of the request that created it, to tell a retry from a different request with one key. */
  requestHash: string | null;
  /** 1 when created, one more with every transition. */
  revision: number;
  createdAt: Date;
  sentAt: Date | null;
  deliveredAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

export interface NewCommand {
  /** The command belongs to this session's device and customer. */
  sessionId: string;
  type: CommandType;
  params: Record<string, unknown>;
  timeoutSec: number;
  /** From its creation, by the database's clock: after that, a command not yet delivered expires. */
  expiresInSec: number;
  issuedBy: Actor;
  /** A step of a remediation plan; null for a command issued directly. */
  planStep: { planId: string; stepIndex: number } | null;
  /** The same key again within `windowSec` returns the command it created instead of a new one. */
  idempotency: { key: string; requestHash: string; windowSec: number } | null;
}

/** The outcome of creating a command: the command, and whether this call created it. */
export interface CommandCreation {
  command: CommandRecord;
  created: boolean;
  /** When created: how many of the device's commands were queued with it, if the store counted them. */
  queued?: number;
}

/**
 * One transition: the status entered and what it brings. Fields left undefined keep their value; the
 * timestamp and attempt bookkeeping follow the lifecycle table.
 */
export interface CommandChange {
  status: CommandStatus;
  progress?: CommandProgress;
  output?: Record<string, unknown>;
  error?: CommandError;
}

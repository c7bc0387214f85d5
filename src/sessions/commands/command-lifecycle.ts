import { type CommandRecord, type CommandStatus } from './command';

/** The timestamps the lifecycle stamps, each when its status is entered. */
export type CommandTimestamp = keyof Pick<
  CommandRecord,
  'sentAt' | 'deliveredAt' | 'startedAt' | 'finishedAt'
>;

export interface CommandTransitionRule {
  /** The statuses a command may enter this one from; none for a status only creation enters. */
  from: readonly CommandStatus[];
  /** The timestamp entering it sets (not re-set when a status moves to itself). */
  stamps: CommandTimestamp | null;
  /** Whether entering it starts a new delivery attempt. */
  countsAttempt: boolean;
}

const FINAL = { stamps: 'finishedAt', countsAttempt: false } as const;

/**
 * Every transition of the Command lifecycle (docs/guide.md#the-command-lifecycle-and-its-clocks, issue 11 item 4), by the status entered. A
 * command is created `queued`. Each transition is one conditional update from its `from` statuses
 * (CommandRepository.transition, or claimQueued for queued → sent), so of two instances racing for one
 * command, one wins and the other changes nothing. A result or a progress report that arrives before the
 * ack counts as the ack: the caller records `delivered` first, so that `deliveredAt` tells the truth.
 */
export const COMMAND_TRANSITIONS: Readonly<Record<CommandStatus, CommandTransitionRule>> = {
  /** Sent and not acknowledged in time: back in the queue as the next attempt (ack clock). */
  queued: { from: ['sent'], stamps: null, countsAttempt: true },
  /** Handed to the device's socket or its long poll, oldest queued first. */
  sent: { from: ['queued'], stamps: 'sentAt', countsAttempt: false },
  /** The agent acknowledged it (`accepted: true`). */
  delivered: { from: ['sent'], stamps: 'deliveredAt', countsAttempt: false },
  /** The agent reported progress; later reports keep it running. */
  running: { from: ['delivered', 'running'], stamps: 'startedAt', countsAttempt: false },
  succeeded: { from: ['delivered', 'running'], ...FINAL },
  /** The agent's result, its refusal (`accepted: false`), or the last attempt unacknowledged (`undeliverable`). */
  failed: { from: ['sent', 'delivered', 'running'], ...FINAL },
  /** Delivered and no result within its timeoutSec (execution clock). */
  timed_out: { from: ['delivered', 'running'], ...FINAL },
  /** Never delivered before its expiresAt (expiry clock). */
  expired: { from: ['queued', 'sent'], ...FINAL },
  /** By the customer, by its session closing, or by its device being deleted. */
  cancelled: { from: ['queued', 'sent', 'delivered', 'running'], ...FINAL },
};

export const FINAL_COMMAND_STATUSES = ['succeeded', 'failed', 'timed_out', 'expired', 'cancelled'] as const;
export type FinalCommandStatus = (typeof FINAL_COMMAND_STATUSES)[number];

/** Statuses a command can still leave: waiting for delivery, or on the device. */
export const OPEN_COMMAND_STATUSES = ['queued', 'sent', 'delivered', 'running'] as const;

export function isFinalStatus(status: CommandStatus): status is FinalCommandStatus {
  return (FINAL_COMMAND_STATUSES as readonly CommandStatus[]).includes(status);
}

export function canTransition(from: CommandStatus, to: CommandStatus): boolean {
  return COMMAND_TRANSITIONS[to].from.includes(from);
}

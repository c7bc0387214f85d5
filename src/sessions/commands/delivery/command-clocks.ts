import { type CommandChange, type CommandRecord, type CommandStatus } from '../command';
import { isFinalStatus } from '../command-lifecycle';

export interface ClockSettings {
  ackTimeoutMs: number;
  maxAttempts: number;
}

/**
 * When a non-final command must next be looked at, from its status and the time `now` (the three clocks
 * of docs/guide.md#the-command-lifecycle-and-its-clocks): queued → its expiry, and meanwhile once every
 * ack timeout, when its device's work is signalled again (a signal lost on the bus then delays the
 * command by one ack timeout at most, never lets it expire while its device is connected); sent → its
 * ack timeout, or its expiry if that comes first (a command never acked was never delivered); delivered
 * or running → its execution timeout. Null for a final command.
 */
export function deadlineOf(command: CommandRecord, settings: ClockSettings, now: number): number | null {
  const expiry = command.expiresAt.getTime();
  switch (command.status) {
    case 'queued':
      return Math.min(expiry, now + settings.ackTimeoutMs);
    case 'sent': {
      const sentAt = (command.sentAt ?? command.updatedAt).getTime();
      return Math.min(sentAt + settings.ackTimeoutMs, expiry);
    }
    case 'delivered':
    case 'running': {
      const deliveredAt = (command.deliveredAt ?? command.sentAt ?? command.updatedAt).getTime();
      return deliveredAt + command.timeoutSec * 1000;
    }
    case 'succeeded':
    case 'failed':
    case 'timed_out':
    case 'expired':
    case 'cancelled':
      return null;
  }
}

/** The transition a clock makes: from the command's status now, to what it brings. */
export interface DueTransition {
  from: CommandStatus;
  change: CommandChange;
  /** A command sent back to its queue, to be delivered again. */
  redelivery: boolean;
}

/**
 * What is due for a command at `now`: nothing when its deadline has not come (or it is final), else the
 * one transition its clock makes. An unacknowledged command goes back to its queue as the next attempt,
 * or fails `undeliverable` after its last; expiry wins over an ack timeout that falls due with it.
 */
export function dueTransition(
  command: CommandRecord,
  now: number,
  settings: ClockSettings,
): DueTransition | null {
  if (isFinalStatus(command.status)) return null;
  const expired = command.expiresAt.getTime() <= now;
  if (command.status === 'queued') {
    // Its look-again time makes no transition: the sweep signals the device's work again.
    return expired ? { from: 'queued', change: { status: 'expired' }, redelivery: false } : null;
  }
  const deadline = deadlineOf(command, settings, now);
  if (deadline === null || deadline > now) return null;
  switch (command.status) {
    case 'sent':
      if (expired) return { from: 'sent', change: { status: 'expired' }, redelivery: false };
      if (command.attempt >= settings.maxAttempts) {
        return {
          from: 'sent',
          change: {
            status: 'failed',
            error: {
              code: 'undeliverable',
              message: `The device did not acknowledge the command in ${command.attempt} attempt(s).`,
            },
          },
          redelivery: false,
        };
      }
      return { from: 'sent', change: { status: 'queued' }, redelivery: true };
    case 'delivered':
    case 'running':
      return { from: command.status, change: { status: 'timed_out' }, redelivery: false };
  }
}

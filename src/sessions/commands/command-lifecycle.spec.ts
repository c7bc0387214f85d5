import { COMMAND_STATUSES, type CommandStatus } from './command';
import {
  canTransition,
  COMMAND_TRANSITIONS,
  FINAL_COMMAND_STATUSES,
  isFinalStatus,
  OPEN_COMMAND_STATUSES,
} from './command-lifecycle';

/**
 * The lifecycle of issue 11 item 4 and docs/guide.md#the-command-lifecycle-and-its-clocks, written out here independently of the table: every
 * allowed transition, why it exists, and what it stamps. Anything not listed must be refused.
 */
const ALLOWED: [from: CommandStatus, to: CommandStatus, why: string][] = [
  ['queued', 'sent', 'delivery hands a queued command to the device'],
  ['sent', 'queued', 'the ack clock gives a command sent and never acknowledged another attempt'],
  ['sent', 'delivered', 'the agent acknowledges it'],
  ['delivered', 'running', 'the agent reports progress'],
  ['running', 'running', 'the agent reports progress again'],
  ['delivered', 'succeeded', 'a result without progress before it'],
  ['running', 'succeeded', 'a result after progress'],
  ['sent', 'failed', 'the agent refuses it, or the last attempt goes unacknowledged (undeliverable)'],
  ['delivered', 'failed', 'a failed result without progress before it'],
  ['running', 'failed', 'a failed result after progress'],
  ['delivered', 'timed_out', 'the execution clock runs out before a result'],
  ['running', 'timed_out', 'the execution clock runs out while it runs'],
  ['queued', 'expired', 'never delivered before expiresAt, still waiting'],
  ['sent', 'expired', 'never delivered before expiresAt, sent but not acknowledged'],
  ['queued', 'cancelled', 'cancelled before delivery'],
  ['sent', 'cancelled', 'cancelled while on its way'],
  ['delivered', 'cancelled', 'cancelled on the device before it started'],
  ['running', 'cancelled', 'cancelled on the device while it runs'],
];

const allowed = (from: CommandStatus, to: CommandStatus): boolean =>
  ALLOWED.some(([allowedFrom, allowedTo]) => allowedFrom === from && allowedTo === to);

const everyPair = COMMAND_STATUSES.flatMap((from) => COMMAND_STATUSES.map((to) => [from, to] as const));

describe('the command lifecycle', () => {
  it.each(ALLOWED)('allows %s → %s: %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(COMMAND_TRANSITIONS[to].from).toContain(from);
  });

  it.each(everyPair.filter(([from, to]) => !allowed(from, to)))('refuses %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
  });

  it('leaves no final status: every final command stays as it is', () => {
    for (const status of FINAL_COMMAND_STATUSES) {
      expect(COMMAND_STATUSES.filter((to) => canTransition(status, to))).toEqual([]);
      expect(isFinalStatus(status)).toBe(true);
    }
  });

  it('lets every open status be cancelled, so nothing a customer issued is stuck', () => {
    for (const status of OPEN_COMMAND_STATUSES) {
      expect(canTransition(status, 'cancelled')).toBe(true);
      expect(isFinalStatus(status)).toBe(false);
    }
    expect([...OPEN_COMMAND_STATUSES, ...FINAL_COMMAND_STATUSES].sort()).toEqual(
      [...COMMAND_STATUSES].sort(),
    );
  });

  it('enters queued only from creation or as a new attempt of an unacknowledged command', () => {
    expect(COMMAND_TRANSITIONS.queued).toEqual({ from: ['sent'], stamps: null, countsAttempt: true });
    expect(
      COMMAND_STATUSES.filter((status) => status !== 'queued' && COMMAND_TRANSITIONS[status].countsAttempt),
    ).toEqual([]);
  });

  it('stamps sentAt, deliveredAt and startedAt on their statuses, and finishedAt on every final one', () => {
    expect(COMMAND_TRANSITIONS.sent.stamps).toBe('sentAt');
    expect(COMMAND_TRANSITIONS.delivered.stamps).toBe('deliveredAt');
    expect(COMMAND_TRANSITIONS.running.stamps).toBe('startedAt');
    for (const status of FINAL_COMMAND_STATUSES)
      expect(COMMAND_TRANSITIONS[status].stamps).toBe('finishedAt');
  });
});

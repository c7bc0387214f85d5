import { type CommandRecord } from '../command';
import { deadlineOf, dueTransition } from './command-clocks';

const SETTINGS = { ackTimeoutMs: 30_000, maxAttempts: 3 };
const T0 = Date.parse('2026-12-02T10:00:00.000Z');

function command(overrides: Partial<CommandRecord> = {}): CommandRecord {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    sessionId: '00000000-0000-4000-8000-000000000002',
    deviceId: '00000000-0000-4000-8000-000000000003',
    customerId: '00000000-0000-4000-8000-000000000004',
    planId: null,
    stepIndex: null,
    type: 'ping',
    params: { host: '192.0.2.1', count: 1 },
    status: 'queued',
    attempt: 1,
    timeoutSec: 60,
    expiresAt: new Date(T0 + 3_600_000),
    progress: null,
    output: null,
    error: null,
    issuedBy: 'customer:00000000-0000-4000-8000-000000000004',
    idempotencyKey: null,
    requestHash: null,
    revision: 1,
    createdAt: new Date(T0),
    sentAt: null,
    deliveredAt: null,
    startedAt: null,
    finishedAt: null,
    updatedAt: new Date(T0),
    ...overrides,
  };
}

describe('the command clocks', () => {
  describe('queued', () => {
    const queued = command();

    it('is looked at again every ack timeout until its expiry, and nothing is due before it expires', () => {
      expect(deadlineOf(queued, SETTINGS, T0)).toBe(T0 + SETTINGS.ackTimeoutMs);
      expect(deadlineOf(queued, SETTINGS, T0 + 3_599_000)).toBe(T0 + 3_600_000);
      expect(dueTransition(queued, T0 + SETTINGS.ackTimeoutMs, SETTINGS)).toBeNull();
      expect(dueTransition(queued, T0 + 3_599_999, SETTINGS)).toBeNull();
    });

    it('expires at expiresAt', () => {
      expect(dueTransition(queued, T0 + 3_600_000, SETTINGS)).toEqual({
        from: 'queued',
        change: { status: 'expired' },
        redelivery: false,
      });
    });
  });

  describe('sent', () => {
    const sent = command({ status: 'sent', sentAt: new Date(T0 + 1000), revision: 2 });

    it('waits for the ack timeout after sentAt', () => {
      expect(deadlineOf(sent, SETTINGS, T0)).toBe(T0 + 31_000);
      expect(dueTransition(sent, T0 + 30_999, SETTINGS)).toBeNull();
    });

    it('goes back to the queue as the next attempt when unacknowledged', () => {
      expect(dueTransition(sent, T0 + 31_000, SETTINGS)).toEqual({
        from: 'sent',
        change: { status: 'queued' },
        redelivery: true,
      });
    });

    it('fails undeliverable after its last attempt', () => {
      expect(dueTransition({ ...sent, attempt: 3 }, T0 + 31_000, SETTINGS)).toMatchObject({
        from: 'sent',
        change: { status: 'failed', error: { code: 'undeliverable' } },
        redelivery: false,
      });
    });

    it('expires instead when its expiry comes before or with the ack timeout', () => {
      const soon = { ...sent, expiresAt: new Date(T0 + 10_000) };
      expect(deadlineOf(soon, SETTINGS, T0)).toBe(T0 + 10_000);
      expect(dueTransition(soon, T0 + 10_000, SETTINGS)).toEqual({
        from: 'sent',
        change: { status: 'expired' },
        redelivery: false,
      });
    });
  });

  describe.each(['delivered', 'running'] as const)('%s', (status) => {
    const onDevice = command({
      status,
      sentAt: new Date(T0 + 1000),
      deliveredAt: new Date(T0 + 2000),
      // The expiry no longer applies once it is on the device.
      expiresAt: new Date(T0 + 5000),
    });

    it('waits for timeoutSec after delivery', () => {
      expect(deadlineOf(onDevice, SETTINGS, T0)).toBe(T0 + 62_000);
      expect(dueTransition(onDevice, T0 + 61_999, SETTINGS)).toBeNull();
    });

    it('times out', () => {
      expect(dueTransition(onDevice, T0 + 62_000, SETTINGS)).toEqual({
        from: status,
        change: { status: 'timed_out' },
        redelivery: false,
      });
    });
  });

  it.each(['succeeded', 'failed', 'timed_out', 'expired', 'cancelled'] as const)(
    'has no clock once %s',
    (status) => {
      const final = command({ status, finishedAt: new Date(T0) });
      expect(deadlineOf(final, SETTINGS, T0)).toBeNull();
      expect(dueTransition(final, T0 + 10_000_000, SETTINGS)).toBeNull();
    },
  );
});

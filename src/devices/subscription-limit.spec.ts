import { randomUUID } from 'node:crypto';
import { TooManySubscriptionsError } from './devices.errors';
import { reserveSubscription } from './subscription-limit';

describe('reserveSubscription (SOCKET_MAX_SUBSCRIPTIONS)', () => {
  const ids = (count: number): string[] => Array.from({ length: count }, () => randomUUID());

  it('counts devices up to the limit and refuses the next one, leaving the set as it was', () => {
    const subscriptions = new Set<string>();
    const [first, second, third] = ids(3) as [string, string, string];
    reserveSubscription(subscriptions, first, 2);
    reserveSubscription(subscriptions, second, 2);

    expect(() => reserveSubscription(subscriptions, third, 2)).toThrow(TooManySubscriptionsError);
    expect(() => reserveSubscription(subscriptions, third, 2)).toThrow('at most 2 devices');
    expect([...subscriptions]).toEqual([first, second]);
  });

  it('counts a burst before any lookup answers: none past the limit gets through', () => {
    const subscriptions = new Set<string>();
    const outcomes = ids(5).map((id) => {
      try {
        reserveSubscription(subscriptions, id, 3);
        return 'reserved';
      } catch (error) {
        return error instanceof TooManySubscriptionsError ? 'refused' : 'other';
      }
    });

    expect(outcomes).toEqual(['reserved', 'reserved', 'reserved', 'refused', 'refused']);
    expect(subscriptions.size).toBe(3);
  });

  it('lets a socket at its limit subscribe again to a device it has, at no cost', () => {
    const [first, second] = ids(2) as [string, string];
    const subscriptions = new Set([first, second]);

    const release = reserveSubscription(subscriptions, first, 2);
    // Undoing a repeated subscription that failed keeps the one that succeeded before.
    release();

    expect([...subscriptions]).toEqual([first, second]);
  });

  it('frees the slot of a subscription that failed, so that another device can take it', () => {
    const subscriptions = new Set<string>();
    const [kept, failed, next] = ids(3) as [string, string, string];
    reserveSubscription(subscriptions, kept, 2);

    const release = reserveSubscription(subscriptions, failed, 2);
    release();
    reserveSubscription(subscriptions, next, 2);

    expect([...subscriptions]).toEqual([kept, next]);
  });

  it('frees a slot when the socket unsubscribes', () => {
    const [first, second] = ids(2) as [string, string];
    const subscriptions = new Set([first]);
    expect(() => reserveSubscription(subscriptions, second, 1)).toThrow(TooManySubscriptionsError);

    subscriptions.delete(first);

    expect(() => reserveSubscription(subscriptions, second, 1)).not.toThrow();
    expect([...subscriptions]).toEqual([second]);
  });
});

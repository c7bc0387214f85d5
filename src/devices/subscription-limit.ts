import { TooManySubscriptionsError } from './devices.errors';

/**
 * Counts a device against a portal socket's SOCKET_MAX_SUBSCRIPTIONS before its access check, so that a
 * burst of subscriptions cannot all pass the limit at once; a device already subscribed costs nothing.
 * Throws TooManySubscriptionsError when a new device would exceed the limit. Returns what undoes the
 * reservation should the subscription fail: it removes only what this call added.
 */
export function reserveSubscription(subscriptions: Set<string>, deviceId: string, limit: number): () => void {
  if (subscriptions.has(deviceId)) return () => undefined;
  if (subscriptions.size >= limit) throw new TooManySubscriptionsError(limit);
  subscriptions.add(deviceId);
  return () => {
    subscriptions.delete(deviceId);
  };
}

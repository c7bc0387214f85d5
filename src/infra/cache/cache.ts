/**
 * Cache port: the bus every gateway instance of a deployment shares for cross-instance notices
 * (revocations, creations, takeovers). Hot presence has a store of its own (PresenceStore). Adapters:
 * Redis (any number of instances) and memory (one). Channels are given without the deployment prefix;
 * adapters add it.
 */
export abstract class Cache {
  abstract publish(channel: string, message: string): Promise<void>;

  /** Calls handler for every message published on the channel, by any instance; resolves to unsubscribe. */
  abstract subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;

  /**
   * Calls listener whenever subscriptions resume after the connection to the cache was lost, with when
   * it was lost: messages published meanwhile were missed, so whatever they would have invalidated must
   * be found out another way.
   */
  abstract onSubscriptionsResumed(listener: (lostAt: Date) => void): void;

  /** Resolves when the cache answers; rejects otherwise. */
  abstract ping(): Promise<void>;
}

/**
 * Cache port: the shared hot state every gateway instance sees (presence, verification caches,
 * idempotency, cross-instance notices). Adapters: Redis (any number of instances) and memory (one).
 * Keys and channels are given without the deployment prefix; adapters add it.
 */
export abstract class Cache {
  abstract get(key: string): Promise<string | null>;

  /** Stores a value, expiring after ttlMs when given. */
  abstract set(key: string, value: string, ttlMs?: number): Promise<void>;

  /** Stores the value only when the key is absent; true when this call stored it. */
  abstract setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;

  abstract delete(key: string): Promise<void>;

  /** Adds a member to a sorted set, or moves it to a new score. */
  abstract sortedSetAdd(key: string, member: string, score: number): Promise<void>;

  /** Members scored at most maxScore, lowest score first, at most `limit` of them. */
  abstract sortedSetRangeByScore(key: string, maxScore: number, limit: number): Promise<string[]>;

  /** Removes a member; true only for the one caller that removed it, so instances can claim work. */
  abstract sortedSetRemove(key: string, member: string): Promise<boolean>;

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

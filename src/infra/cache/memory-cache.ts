import { Injectable } from '@nestjs/common';
import { Cache } from './cache';

interface Entry {
  value: string;
  expiresAt: number;
}

/**
 * CACHE_BACKEND=memory: the cache port inside this process. Correct for one instance only; messages are
 * delivered asynchronously, as Redis would, so callers cannot come to rely on synchronous delivery.
 */
@Injectable()
export class MemoryCache extends Cache {
  private readonly entries = new Map<string, Entry>();
  private readonly sortedSets = new Map<string, Map<string, number>>();
  private readonly subscribers = new Map<string, Set<(message: string) => void>>();

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  get(key: string): Promise<string | null> {
    return Promise.resolve(this.live(key)?.value ?? null);
  }

  set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : Date.now() + ttlMs });
    return Promise.resolve();
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.live(key)) return Promise.resolve(false);
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    return Promise.resolve(true);
  }

  delete(key: string): Promise<void> {
    this.entries.delete(key);
    return Promise.resolve();
  }

  sortedSetAdd(key: string, member: string, score: number): Promise<void> {
    let set = this.sortedSets.get(key);
    if (!set) {
      set = new Map();
      this.sortedSets.set(key, set);
    }
    set.set(member, score);
    return Promise.resolve();
  }

  sortedSetRangeByScore(key: string, maxScore: number, limit: number): Promise<string[]> {
    const set = this.sortedSets.get(key);
    if (!set) return Promise.resolve([]);
    const members = [...set.entries()]
      .filter(([, score]) => score <= maxScore)
      .sort(([memberA, scoreA], [memberB, scoreB]) => scoreA - scoreB || memberA.localeCompare(memberB))
      .slice(0, limit)
      .map(([member]) => member);
    return Promise.resolve(members);
  }

  sortedSetRemove(key: string, member: string): Promise<boolean> {
    return Promise.resolve(this.sortedSets.get(key)?.delete(member) ?? false);
  }

  publish(channel: string, message: string): Promise<void> {
    for (const handler of this.subscribers.get(channel) ?? []) {
      setImmediate(handler, message);
    }
    return Promise.resolve();
  }

  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    let handlers = this.subscribers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.subscribers.set(channel, handlers);
    }
    handlers.add(handler);
    return Promise.resolve(() => {
      handlers.delete(handler);
      return Promise.resolve();
    });
  }

  /** In one process nothing is ever missed. */
  onSubscriptionsResumed(): void {
    // Nothing to do.
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }
}

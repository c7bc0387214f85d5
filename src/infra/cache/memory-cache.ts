import { Injectable } from '@nestjs/common';
import { Cache } from './cache';

/**
 * CACHE_BACKEND=memory: the cache port inside this process. Correct for one instance only; messages are
 * delivered asynchronously, as Redis would, so callers cannot come to rely on synchronous delivery.
 */
@Injectable()
export class MemoryCache extends Cache {
  private readonly subscribers = new Map<string, Set<(message: string) => void>>();

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

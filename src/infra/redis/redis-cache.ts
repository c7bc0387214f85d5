import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../../config/app-config';
import { closeRedis, InjectRedis, logConnectionChanges, redisCall } from './redis-client.provider';
import { Cache } from '../cache/cache';

/** CACHE_BACKEND=redis: shared by every instance. Failures surface as DependencyUnavailableError (503). */
@Injectable()
export class RedisCache extends Cache implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisCache.name);
  private subscriber: Redis | undefined;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  private readonly resumedListeners = new Set<(lostAt: Date) => void>();

  constructor(
    @InjectRedis() private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {
    super();
  }

  /** ioredis prefixes keys, never channels; the prefix is added here so deployments stay apart. */
  private channel(name: string): string {
    return `${this.config.REDIS_KEY_PREFIX}${name}`;
  }

  async publish(channel: string, message: string): Promise<void> {
    await redisCall(() => this.redis.publish(this.channel(channel), message), this.redis, 'publish');
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    const subscriber = await this.subscriberConnection();
    const name = this.channel(channel);
    let handlers = this.handlers.get(name);
    if (!handlers) {
      handlers = new Set();
      this.handlers.set(name, handlers);
      const subscribed = subscriber.subscribe(name);
      if (subscriber.status === 'ready') {
        await redisCall(() => subscribed, subscriber);
      } else {
        // Redis is away: the subscription is queued and sent on reconnection; startup must not wait.
        subscribed.catch((error: unknown) => {
          this.logger.warn(`Subscription to ${name} failed: ${String(error)}`);
        });
      }
    }
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
      if (handlers.size === 0 && this.handlers.get(name) === handlers) {
        this.handlers.delete(name);
        await subscriber.unsubscribe(name).catch(() => undefined);
      }
    };
  }

  onSubscriptionsResumed(listener: (lostAt: Date) => void): void {
    this.resumedListeners.add(listener);
  }

  async ping(): Promise<void> {
    await redisCall(() => this.redis.ping(), this.redis, 'ping');
  }

  /**
   * A connection in subscriber mode can send nothing else, so it is a duplicate of the command client.
   * It keeps an offline queue, with no retry limit, so that subscriptions made during an outage are sent
   * on reconnection; ioredis re-subscribes to every channel after a reconnect by itself.
   */
  private async subscriberConnection(): Promise<Redis> {
    if (!this.subscriber) {
      const subscriber = this.redis.duplicate({
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        keyPrefix: undefined,
        // Names the deployment, so an operator can tell (and a test can drop) its subscriber connections.
        connectionName: `netdiag-gateway:subscriber:${this.config.REDIS_KEY_PREFIX}`,
      });
      logConnectionChanges(subscriber, this.logger, 'subscriber');
      subscriber.on('message', (channel: string, message: string) => {
        for (const handler of this.handlers.get(channel) ?? []) {
          try {
            handler(message);
          } catch (error) {
            this.logger.error(`A handler for ${channel} failed: ${String(error)}`);
          }
        }
      });
      let connectedBefore = false;
      let lostAt: Date | undefined;
      subscriber.on('close', () => {
        lostAt ??= new Date();
      });
      subscriber.on('ready', () => {
        // ioredis re-subscribes on every reconnection; anything published while it was away is lost.
        if (connectedBefore && lostAt) for (const listener of this.resumedListeners) listener(lostAt);
        connectedBefore = true;
        lostAt = undefined;
      });
      this.subscriber = subscriber;
      // Bounded by connectTimeout; when Redis is down this fails fast and reconnection goes on.
      await subscriber.connect().catch(() => undefined);
    }
    return this.subscriber;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.subscriber) await closeRedis(this.subscriber);
  }
}

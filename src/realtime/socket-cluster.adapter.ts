import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import Redis from 'ioredis';
import { AppConfig, CacheBackend } from '../config/app-config';
import { closeRedis, logConnectionChanges } from '../infra/redis/redis-client.provider';

type AdapterConstructor = ReturnType<typeof createAdapter>;

/**
 * Joins every instance's Socket.IO server into one (PRODUCT §6) with the Redis Streams adapter, chosen over
 * the Pub/Sub one because it supports connection state recovery (a client that reconnects within
 * SOCKET_RECOVERY_WINDOW_MS gets the events it missed) and does not lose packets when Redis blips.
 * Its client is separate from the command client: it blocks on XREAD, which the command client's
 * timeout and disabled offline queue would cut short. Names carry REDIS_KEY_PREFIX explicitly because
 * the adapter duplicates this client for pub/sub, where ioredis adds no prefix.
 */
@Injectable()
export class SocketClusterAdapter implements OnApplicationShutdown {
  private readonly logger = new Logger(SocketClusterAdapter.name);
  private client: Redis | undefined;
  /** The connections the adapter duplicates from the client (stream reader, pub/sub). */
  private readonly duplicates: Redis[] = [];

  constructor(private readonly config: AppConfig) {}

  /** The adapter for the Socket.IO server, or undefined for the in-process default (CACHE_BACKEND=memory). */
  async create(): Promise<AdapterConstructor | undefined> {
    if (this.config.CACHE_BACKEND !== CacheBackend.Redis) return undefined;
    // Not lazy: the adapter duplicates this client and, for a lazy one, awaits connect() on each copy
    // without handling its failure, an unhandled rejection whenever Redis is down at start-up.
    const client = new Redis(this.config.REDIS_URL, {
      lazyConnect: false,
      retryStrategy: (attempt) => Math.min(attempt * 100, this.config.REDIS_RECONNECT_MAX_DELAY_MS),
      maxRetriesPerRequest: null,
      connectionName: 'netdiag-gateway-socket.io',
      // As for the command client: disconnect() arms a timer of this length that is never cleared, and
      // the adapter calls it on its stream reader after close; the default 2 s kept a closed app alive.
      disconnectTimeout: 200,
    });
    logConnectionChanges(client, this.logger, 'Socket.IO adapter');
    // The adapter closes its stream reader only when its blocked XREAD returns, up to blockTimeInMs after
    // the server closed: kept track of here so that shutdown closes every connection at once.
    const duplicate = client.duplicate.bind(client);
    client.duplicate = (...args: Parameters<Redis['duplicate']>) => {
      const copy = duplicate(...args);
      this.duplicates.push(copy);
      return copy;
    };
    this.client = client;
    await waitUntilReady(client, this.config.REDIS_COMMAND_TIMEOUT_MS * 2).catch((error: unknown) => {
      this.logger.warn(`Socket.IO adapter cannot reach Redis yet (${String(error)}); it keeps trying`);
    });
    const prefix = this.config.REDIS_KEY_PREFIX;
    return createAdapter(client, {
      streamName: `${prefix}socket.io`,
      channelPrefix: `${prefix}socket.io`,
      sessionKeyPrefix: `${prefix}socket.io:session:`,
      maxLen: 10_000,
      // Bounds how long a closing instance waits for its blocked stream read to return.
      blockTimeInMs: 1000,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    for (const copy of this.duplicates) copy.disconnect();
    if (this.client) await closeRedis(this.client);
  }
}

/** Resolves once the client is ready; rejects after `ms` (the client keeps reconnecting either way). */
function waitUntilReady(client: Redis, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`not ready within ${ms} ms`));
    }, ms);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

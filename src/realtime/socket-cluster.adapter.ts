import { Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type Redis from 'ioredis';
import { AppConfig, CacheBackend } from '../config/app-config';
import { InjectSocketAdapterRedis } from '../infra/redis/redis-client.provider';

type AdapterConstructor = ReturnType<typeof createAdapter>;

/**
 * Joins every instance's Socket.IO server into one (docs/guide.md#socketio) with the Redis Streams adapter, chosen over
 * the Pub/Sub one because it supports connection state recovery (a client that reconnects within
 * SOCKET_RECOVERY_WINDOW_MS gets the events it missed) and does not lose packets when Redis blips.
 * Its Redis client comes from DI (SOCKET_ADAPTER_REDIS); names carry REDIS_KEY_PREFIX explicitly because
 * the adapter duplicates that client for pub/sub, where ioredis adds no prefix.
 */
@Injectable()
export class SocketClusterAdapter implements OnApplicationShutdown {
  private readonly logger = new Logger(SocketClusterAdapter.name);
  /** The connections the adapter duplicates from the client (stream reader, pub/sub); closed here. */
  private readonly duplicates: Redis[] = [];

  constructor(
    private readonly config: AppConfig,
    @Optional() @InjectSocketAdapterRedis() private readonly client?: Redis,
  ) {}

  /** The adapter for the Socket.IO server, or undefined for the in-process default (CACHE_BACKEND=memory). */
  async create(): Promise<AdapterConstructor | undefined> {
    const client = this.client;
    if (this.config.CACHE_BACKEND !== CacheBackend.Redis || !client) return undefined;
    // The adapter closes its stream reader only when its blocked XREAD returns, up to blockTimeInMs after
    // the server closed: kept track of here so that shutdown closes every connection at once.
    const duplicate = client.duplicate.bind(client);
    client.duplicate = (...args: Parameters<Redis['duplicate']>) => {
      const copy = duplicate(...args);
      this.duplicates.push(copy);
      return copy;
    };
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

  onApplicationShutdown(): void {
    for (const copy of this.duplicates) copy.disconnect();
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

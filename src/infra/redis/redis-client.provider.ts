import { Inject, Injectable, Logger, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import Redis, { type RedisOptions, ReplyError } from 'ioredis';
import { DependencyUnavailableError } from '../../common/errors/common.errors';
import { AppConfig } from '../../config/app-config';
import {
  type CallObserver,
  type MetricsService,
  OPTIONAL_METRICS,
  type RedisCallOperation,
} from '../metrics/metrics.service';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

export const InjectRedis = (): ParameterDecorator => Inject(REDIS_CLIENT);

export function redisOptions(config: AppConfig): RedisOptions {
  return {
    keyPrefix: config.REDIS_KEY_PREFIX,
    lazyConnect: true,
    // Reconnect for as long as it takes, never waiting longer than the configured bound between tries.
    retryStrategy: (attempt) => Math.min(attempt * 100, config.REDIS_RECONNECT_MAX_DELAY_MS),
    // While Redis is away, commands fail at once (and callers answer 503) instead of piling up in memory.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: Math.max(config.REDIS_COMMAND_TIMEOUT_MS, 2000),
    connectionName: 'netdiag-gateway',
    // disconnect() arms a timer of this length to destroy the socket, and never clears it when the socket
    // had already closed (Redis away): with the default 2 s, a closed app kept the process alive that long.
    disconnectTimeout: 200,
  };
}

/** Why each client's connection is down, while it is: a command refused meanwhile does not say. */
const connectionErrors = new WeakMap<Redis, Error>();

/**
 * Logs the first error of an outage and the recovery, not every reconnection attempt in between, and
 * remembers the latest error until the connection is back.
 */
export function logConnectionChanges(client: Redis, logger: Logger, name: string): void {
  let healthy = true;
  client.on('error', (error: Error) => {
    if (healthy) logger.warn(`Redis ${name} connection failed: ${error.message}; reconnecting`);
    healthy = false;
    connectionErrors.set(client, error);
  });
  client.on('ready', () => {
    if (!healthy) logger.log(`Redis ${name} connection restored`);
    healthy = true;
    connectionErrors.delete(client);
  });
}

/** A command refused because the client is disconnected, caused by the connection's own error. */
export class RedisDisconnectedError extends Error {
  constructor(
    override readonly cause: Error,
    refused: unknown,
  ) {
    super(`Redis is not connected (${cause.message}); ${String(refused)}`);
    this.name = 'RedisDisconnectedError';
  }
}

const REDIS_CALL_OPERATIONS: readonly RedisCallOperation[] = [
  'command',
  'script',
  'pipeline',
  'publish',
  'ping',
];

/** The series each observed client's calls are counted in, resolved once per client. */
const callSeries = new WeakMap<Redis, Readonly<Record<RedisCallOperation, CallObserver>>>();

/** Times the calls redisCall makes on `client` from now on. */
export function observeRedisCalls(client: Redis, metrics: MetricsService): void {
  callSeries.set(
    client,
    Object.fromEntries(
      REDIS_CALL_OPERATIONS.map((operation) => [operation, metrics.redisCalls(operation)]),
    ) as Record<RedisCallOperation, CallObserver>,
  );
}

/**
 * A Redis call whose failure (down, timed out) is the cache's, answered 503 by the problem filter.
 * Given the client, a command refused while it is disconnected reports why the connection is down, and
 * the call is timed as `operation` when the client is observed (observeRedisCalls).
 */
export async function redisCall<T>(
  command: () => Promise<T>,
  client?: Redis,
  operation: RedisCallOperation = 'command',
): Promise<T> {
  const observer = client && callSeries.get(client)?.[operation];
  const started = observer ? performance.now() : 0;
  try {
    const result = await command();
    observer?.settled(started);
    return result;
  } catch (error) {
    observer?.settled(started, error instanceof ReplyError ? 'refused' : 'unavailable');
    const connectionError = client?.status === 'ready' ? undefined : client && connectionErrors.get(client);
    throw new DependencyUnavailableError(
      'cache',
      connectionError ? new RedisDisconnectedError(connectionError, error) : error,
    );
  }
}

/** quit() waits for replies that never come from a dead server; disconnect() does not. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    await client.quit().catch(() => {
      client.disconnect();
    });
  } else {
    client.disconnect();
  }
}

export const redisClientProvider: Provider<Redis> = {
  provide: REDIS_CLIENT,
  inject: [AppConfig, OPTIONAL_METRICS],
  useFactory: async (config: AppConfig, metrics?: MetricsService): Promise<Redis> => {
    const logger = new Logger('Redis');
    const client = new Redis(config.REDIS_URL, redisOptions(config));
    logConnectionChanges(client, logger, 'command');
    if (metrics) observeRedisCalls(client, metrics);
    // Start-up must not fail because Redis is away: readiness reports it, and the client keeps retrying.
    await client.connect().catch((error: unknown) => {
      logger.warn(
        `Redis is not reachable at start-up (${String(error)}); the gateway is not ready until it is`,
      );
    });
    return client;
  },
};

@Injectable()
export class RedisClientCloser implements OnApplicationShutdown {
  constructor(@InjectRedis() private readonly client: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.client);
  }
}

export const SOCKET_ADAPTER_REDIS = Symbol('SOCKET_ADAPTER_REDIS');

export const InjectSocketAdapterRedis = (): ParameterDecorator => Inject(SOCKET_ADAPTER_REDIS);

/**
 * The Socket.IO cluster adapter's own connection. It blocks on XREAD, which the command client's timeout
 * and disabled offline queue would cut short. Not lazy: the adapter duplicates it and, for a lazy
 * client, awaits connect() on each copy without handling a failure (an unhandled rejection whenever
 * Redis is down at start-up).
 */
export const socketAdapterRedisProvider: Provider<Redis> = {
  provide: SOCKET_ADAPTER_REDIS,
  inject: [AppConfig],
  useFactory: (config: AppConfig): Redis => {
    // The command client's reconnection, minus what would cut a blocking read short; no key prefix, as
    // the adapter's names carry it themselves.
    const client = new Redis(config.REDIS_URL, {
      ...redisOptions(config),
      keyPrefix: undefined,
      lazyConnect: false,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      commandTimeout: undefined,
      connectionName: 'netdiag-gateway-socket.io',
    });
    logConnectionChanges(client, new Logger('Redis'), 'Socket.IO adapter');
    return client;
  },
};

@Injectable()
export class SocketAdapterRedisCloser implements OnApplicationShutdown {
  constructor(@InjectSocketAdapterRedis() private readonly client: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.client);
  }
}

import { type DynamicModule, Global, Module } from '@nestjs/common';
import { CacheBackend } from '../../config/app-config';
import {
  RedisClientCloser,
  redisClientProvider,
  REDIS_CLIENT,
  SOCKET_ADAPTER_REDIS,
  SocketAdapterRedisCloser,
  socketAdapterRedisProvider,
} from '../redis/redis-client.provider';
import { Cache } from './cache';
import { MemoryCache } from './memory-cache';
import { RedisCache } from '../redis/redis-cache';

/**
 * The cluster bus (Cache) on the backend CACHE_BACKEND names, and with Redis its clients: the command
 * client for features' Redis adapters (cacheAdapter in infra/adapters), and the Socket.IO adapter's.
 */
@Global()
@Module({})
export class CacheModule {
  static forRoot(backend: CacheBackend): DynamicModule {
    switch (backend) {
      case CacheBackend.Memory:
        return {
          module: CacheModule,
          providers: [{ provide: Cache, useClass: MemoryCache }],
          exports: [Cache],
        };
      case CacheBackend.Redis:
        return {
          module: CacheModule,
          providers: [
            redisClientProvider,
            RedisClientCloser,
            socketAdapterRedisProvider,
            SocketAdapterRedisCloser,
            { provide: Cache, useClass: RedisCache },
          ],
          exports: [Cache, REDIS_CLIENT, SOCKET_ADAPTER_REDIS],
        };
    }
  }
}

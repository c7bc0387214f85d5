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
import { PresenceStore } from '../../presence/presence.store';
import { RedisPresenceStore } from '../redis/redis-presence.store';
import { Cache } from './cache';
import { MemoryCache } from './memory-cache';
import { MemoryPresenceStore } from './memory-presence.store';
import { RedisCache } from '../redis/redis-cache';

/**
 * The cache and presence ports bound to the adapters CACHE_BACKEND names; the Redis client is exported
 * and the Socket.IO adapter's client are exported for the realtime module.
 */
@Global()
@Module({})
export class CacheModule {
  static forRoot(backend: CacheBackend): DynamicModule {
    switch (backend) {
      case CacheBackend.Memory:
        return {
          module: CacheModule,
          providers: [
            { provide: Cache, useClass: MemoryCache },
            { provide: PresenceStore, useClass: MemoryPresenceStore },
          ],
          exports: [Cache, PresenceStore],
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
            { provide: PresenceStore, useClass: RedisPresenceStore },
          ],
          exports: [Cache, PresenceStore, REDIS_CLIENT, SOCKET_ADAPTER_REDIS],
        };
    }
  }
}

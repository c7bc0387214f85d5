import { type DynamicModule, Global, Module } from '@nestjs/common';
import { CacheBackend } from '../../config/app-config';
import { RedisClientCloser, redisClientProvider, REDIS_CLIENT } from '../redis/redis-client.provider';
import { Cache } from './cache';
import { MemoryCache } from './memory-cache';
import { RedisCache } from './redis-cache';

/** The cache port bound to the adapter CACHE_BACKEND names; the Redis client is exported for Socket.IO. */
@Global()
@Module({})
export class CacheModule {
  static forRoot(backend: CacheBackend): DynamicModule {
    switch (backend) {
      case CacheBackend.Memory:
        return { module: CacheModule, providers: [{ provide: Cache, useClass: MemoryCache }], exports: [Cache] };
      case CacheBackend.Redis:
        return {
          module: CacheModule,
          providers: [redisClientProvider, RedisClientCloser, { provide: Cache, useClass: RedisCache }],
          exports: [Cache, REDIS_CLIENT],
        };
    }
  }
}

import { type Abstract, type Provider, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AppConfig, CacheBackend, DataBackend } from '../config/app-config';

/**
 * Binds a feature's port to the adapter the configuration picks, built with the feature module's injector,
 * so a feature binds its own ports while the connections (SqlExecutor, the supabase-js client, the Redis
 * client) come from the global infrastructure modules.
 */
function chosenAdapter<T>(port: Abstract<T>, choose: (config: AppConfig) => Type<T>): Provider {
  return {
    provide: port,
    inject: [AppConfig, ModuleRef],
    useFactory: (config: AppConfig, moduleRef: ModuleRef): Promise<T> => moduleRef.create(choose(config)),
  };
}

/** A storage port on SQL (PostgreSQL pool or embedded PGlite) or on supabase-js, by DATA_BACKEND. */
export function storageAdapter<T>(
  port: Abstract<T>,
  adapters: { sql: Type<T>; supabase: Type<T> },
): Provider {
  return chosenAdapter(port, (config) =>
    config.DATA_BACKEND === DataBackend.Supabase ? adapters.supabase : adapters.sql,
  );
}

/** A port kept in this process's memory or in Redis, by CACHE_BACKEND. */
export function cacheAdapter<T>(port: Abstract<T>, adapters: { memory: Type<T>; redis: Type<T> }): Provider {
  return chosenAdapter(port, (config) =>
    config.CACHE_BACKEND === CacheBackend.Redis ? adapters.redis : adapters.memory,
  );
}

import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { RedisCache } from '../../src/infra/redis/redis-cache';
import { closeRedis, redisOptions } from '../../src/infra/redis/redis-client.provider';
import { LOCAL_REDIS_URL } from '../support/local-services';
import { testConfig } from '../support/test-config';
import { describeCacheContract } from './cache.contract';

/** Unique per test file and run, so parallel files and earlier runs never share a key or a channel. */
const RUN_ROOT = `gw-test:${process.pid}-${randomBytes(3).toString('hex')}:`;
// Siblings, not one nested in the other: "a:" + "b:x" must not be able to name the key "b:" + "x".
const DEPLOYMENT_PREFIX = `${RUN_ROOT}a:`;
const OTHER_DEPLOYMENT_PREFIX = `${RUN_ROOT}b:`;

interface GatewayInstanceCache {
  cache: RedisCache;
  close(): Promise<void>;
}

/** A RedisCache as one gateway instance builds it: its own client, the production client options. */
async function openInstance(keyPrefix: string): Promise<GatewayInstanceCache> {
  const config = testConfig({
    CACHE_BACKEND: 'redis',
    REDIS_URL: LOCAL_REDIS_URL,
    REDIS_KEY_PREFIX: keyPrefix,
  });
  const client = new Redis(config.REDIS_URL, redisOptions(config));
  await client.connect();
  const cache = new RedisCache(client, config);
  return {
    cache,
    close: async () => {
      await cache.onApplicationShutdown();
      await closeRedis(client);
    },
  };
}

/** Removes what the suite left behind; keys without a ttl would otherwise stay in the shared Redis. */
async function deleteKeysUnder(prefix: string): Promise<void> {
  const admin = new Redis(LOCAL_REDIS_URL, { lazyConnect: true });
  await admin.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await admin.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await closeRedis(admin);
  }
}

describeCacheContract('Redis (CACHE_BACKEND=redis)', async () => {
  const instances = [
    await openInstance(DEPLOYMENT_PREFIX),
    await openInstance(DEPLOYMENT_PREFIX),
    await openInstance(OTHER_DEPLOYMENT_PREFIX),
  ];
  const [first, second, other] = instances.map((instance) => instance.cache);
  return {
    cache: first!,
    peer: second!,
    otherDeployment: other!,
    close: async () => {
      await Promise.all(instances.map((instance) => instance.close()));
      await deleteKeysUnder(RUN_ROOT);
    },
  };
});

import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { closeRedis, redisOptions } from '../../src/infra/redis/redis-client.provider';
import { RedisCommandClockStore } from '../../src/sessions/commands/delivery/redis-command-clock.store';
import { LOCAL_REDIS_URL } from '../support/local-services';
import { testConfig } from '../support/test-config';
import { describeClockStoreContract } from './clock-store.contract';

const PREFIX = `gw-test:command-clocks:${process.pid}-${randomBytes(3).toString('hex')}:`;

async function connect(): Promise<Redis> {
  const config = testConfig({ CACHE_BACKEND: 'redis', REDIS_URL: LOCAL_REDIS_URL, REDIS_KEY_PREFIX: PREFIX });
  const client = new Redis(config.REDIS_URL, redisOptions(config));
  await client.connect();
  return client;
}

describeClockStoreContract('Redis (CACHE_BACKEND=redis)', async () => {
  // Two clients, as two gateway instances have, on the same deployment prefix.
  const clients = [await connect(), await connect()] as const;
  return {
    store: new RedisCommandClockStore(clients[0]),
    peer: new RedisCommandClockStore(clients[1]),
    close: async () => {
      const keys = await clients[0].keys(`${PREFIX}*`);
      if (keys.length > 0) await clients[0].del(...keys.map((key) => key.slice(PREFIX.length)));
      await Promise.all(clients.map((client) => closeRedis(client)));
    },
  };
});

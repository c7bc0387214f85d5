import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { closeRedis, redisOptions } from '../../../src/infra/redis/redis-client.provider';
import { RedisPresenceStore } from '../../../src/devices/presence/redis-presence.store';
import { LOCAL_REDIS_URL } from '../../support/local-services';
import { testConfig } from '../../support/test-config';
import { describePresenceStoreContract } from './presence-store.contract';

const PREFIX = `gw-test:presence:${process.pid}-${randomBytes(3).toString('hex')}:`;

async function connect(): Promise<Redis> {
  const config = testConfig({ CACHE_BACKEND: 'redis', REDIS_URL: LOCAL_REDIS_URL, REDIS_KEY_PREFIX: PREFIX });
  const client = new Redis(config.REDIS_URL, redisOptions(config));
  await client.connect();
  return client;
}

describePresenceStoreContract('Redis (CACHE_BACKEND=redis)', async () => {
  // Two clients, as two gateway instances have, on the same deployment prefix.
  const clients = [await connect(), await connect()] as const;
  return {
    store: new RedisPresenceStore(clients[0]),
    peer: new RedisPresenceStore(clients[1]),
    close: async () => {
      const keys = await clients[0].keys(`${PREFIX}*`);
      if (keys.length > 0) await clients[0].del(...keys.map((key) => key.slice(PREFIX.length)));
      await Promise.all(clients.map((client) => closeRedis(client)));
    },
  };
});

describe('Redis presence store after a flush', () => {
  const prefix = `gw-test:presence-flush:${process.pid}-${randomBytes(3).toString('hex')}:`;
  let client: Redis;
  let store: RedisPresenceStore;

  beforeAll(async () => {
    const config = testConfig({
      CACHE_BACKEND: 'redis',
      REDIS_URL: LOCAL_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
    });
    client = new Redis(config.REDIS_URL, redisOptions(config));
    await client.connect();
    store = new RedisPresenceStore(client);
  });

  afterAll(async () => {
    await deleteDeployment();
    await closeRedis(client);
  });

  /** What FLUSHDB does to this deployment, without touching the other suites sharing this Redis. */
  async function deleteDeployment(): Promise<void> {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys.map((key) => key.slice(prefix.length)));
  }

  it('is reported whole once rebuilt, and as lost again once its keys are gone', async () => {
    const owner = randomBytes(8).toString('hex');
    expect(await store.checkRecovery(owner, 60_000)).toEqual({ state: 'claimed' });
    expect(await store.completeRecovery(owner, 'first')).toBe(true);
    await store.connect('device-1', Date.now(), 1500);
    expect(await store.checkRecovery(owner, 60_000)).toEqual({ state: 'intact', generation: 'first' });

    await deleteDeployment();

    expect(await store.get(['device-1'])).toEqual([null]);
    expect(await store.checkRecovery(owner, 60_000)).toEqual({ state: 'claimed' });
  });
});

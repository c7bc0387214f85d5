import Redis from 'ioredis';
import { closeRedis } from '../../src/infra/redis/redis-client.provider';
import { LOCAL_REDIS_URL } from './local-services';

/**
 * Drops every subscriber connection of one deployment, as a network blip between it and Redis would;
 * returns how many it dropped. ioredis reconnects them and the gateway's subscriptions resume.
 */
export async function dropSubscriberConnections(keyPrefix: string): Promise<number> {
  const admin = new Redis(LOCAL_REDIS_URL, { lazyConnect: true });
  await admin.connect();
  try {
    const list = (await admin.client('LIST')) as string;
    const ids = list
      .split('\n')
      .filter((line) => line.includes(` name=netdiag-gateway:subscriber:${keyPrefix} `))
      .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined);
    for (const id of ids) await admin.client('KILL', 'ID', id);
    return ids.length;
  } finally {
    await closeRedis(admin);
  }
}

import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { type Socket } from 'socket.io-client';
import { type DeviceResponse } from '../../src/devices/dto/device.response';
import { closeRedis } from '../../src/infra/redis/redis-client.provider';
import { eventually, holdsFor } from '../support/eventually';
import { findFreePort } from '../support/free-port';
import {
  basic,
  bearer,
  type GatewayInstance,
  request,
  startGatewayInstance,
} from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { ask, disconnection, nextEvent, record } from '../support/socket-clients';
import { queryDatabase } from '../support/test-database';
import { ThrowawayRedis } from '../support/throwaway-redis';

const HEARTBEAT = { uptimeSec: 11, agentVersion: '3.0.0' };

type Statuses = { payload: DeviceResponse; at: number }[];

function statesOf(seen: Statuses, deviceId: string): string[] {
  return seen.filter(({ payload }) => payload.id === deviceId).map(({ payload }) => payload.presence.state);
}

/**
 * Presence stays true when Redis loses its data (docs/guide.md#devices-and-presence): connection epochs that outrank every older
 * connection even when Redis restarted empty, and deadlines rebuilt from the database after a flush or an
 * eviction. Instances on a Redis of this file's own, which it kills, restarts empty and flushes.
 */
describe('presence when Redis loses its data, across two instances', () => {
  let redis: ThrowawayRedis;
  let cluster: RealtimeCluster;
  /** Heartbeat interval 1 s (stale after 1.5 s, offline after 3 s), sweeps every 100 ms. */
  let a: GatewayInstance;
  let b: GatewayInstance;
  /**
   * Two more instances with long intervals, so that nothing signs for a socket or sweeps during a test:
   * what happens after a restart of Redis then depends on the epochs alone.
   */
  const quiet: GatewayInstance[] = [];
  let customer: string;
  const keyPrefix = `test:presence-cache-loss:${randomUUID()}:`;
  const environment = {
    REDIS_RECONNECT_MAX_DELAY_MS: '100',
    REDIS_COMMAND_TIMEOUT_MS: '500',
  };

  beforeAll(async () => {
    redis = new ThrowawayRedis(await findFreePort());
    await redis.start();
    cluster = await startRealtimeCluster('presence-cache-loss', 2, {
      ...environment,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: keyPrefix,
    });
    [a, b] = cluster.instances as [GatewayInstance, GatewayInstance];
    const quietConfig = cluster.stack.appConfig({
      ...environment,
      CACHE_BACKEND: 'redis',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `test:presence-quiet:${randomUUID()}:`,
      HEARTBEAT_INTERVAL_SEC: '60',
      PRESENCE_SWEEP_INTERVAL_MS: '60000',
    });
    for (let index = 0; index < 2; index += 1) quiet.push(await startGatewayInstance(quietConfig));
    customer = (await cluster.stack.mintCustomerToken()).accessToken;
  }, 60_000);

  afterAll(async () => {
    for (const instance of quiet) await instance.close();
    await cluster?.close();
    await redis?.stop();
  });

  async function everyInstanceReady(): Promise<void> {
    await eventually(
      'every instance is ready again',
      () =>
        Promise.all(
          [a, b, ...quiet].map(async (instance) => (await request(`${instance.url}/health/ready`)).status),
        ),
      (statuses) => statuses.every((status) => status === 200),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  }

  async function statesEverywhere(
    deviceId: string,
    instances: GatewayInstance[] = [a, b],
  ): Promise<string[]> {
    return Promise.all(
      instances.map(
        async (instance) => (await cluster.getDevice(instance, deviceId, customer)).presence.state,
      ),
    );
  }

  async function listed(instance: GatewayInstance, state: string): Promise<string[]> {
    const response = await request<{ items: DeviceResponse[] }>(
      `${instance.url}/v1/devices?state=${state}&limit=100`,
      { authorization: bearer(customer) },
    );
    expect(response.status).toBe(200);
    return response.body.items.map((device) => device.id);
  }

  async function withAdmin<T>(use: (admin: Redis) => Promise<T>): Promise<T> {
    const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    try {
      return await use(admin);
    } finally {
      await closeRedis(admin);
    }
  }

  it('lets the first connection after Redis restarted empty take over, and keeps the device online', async () => {
    const [qa, qb] = quiet as [GatewayInstance, GatewayInstance];
    const { credentials } = await cluster.createDevice(customer);
    const { deviceId } = credentials;
    const portal = await cluster.sockets.connectPortal(qa.url, customer);
    const seen: Statuses = record<DeviceResponse>(portal, 'device:status');

    // The device connects three times; each connection replaces the one before, S1 is the third.
    let s1: Socket | undefined;
    for (const instance of [qa, qb, qa]) {
      const replaced = s1 ? nextEvent<{ reason: string }>(s1, 'connection:closing') : undefined;
      s1 = await cluster.sockets.connectAgent(instance.url, credentials);
      if (replaced) expect(await replaced).toEqual({ reason: 'replaced' });
    }
    const oldSocket = s1 as Socket;
    await ask(oldSocket, 'heartbeat', HEARTBEAT);
    await eventually(
      'the portal saw the device online',
      () => Promise.resolve(statesOf(seen, deviceId)),
      (states) => states.includes('online'),
    );

    // Redis restarts empty; S1 sends nothing before D connects again as S2.
    await redis.kill();
    await redis.start();
    await everyInstanceReady();
    const s1End = Promise.all([
      nextEvent<{ reason: string }>(oldSocket, 'connection:closing'),
      disconnection(oldSocket),
    ]);
    const s2 = await cluster.sockets.connectAgent(qb.url, credentials);
    expect(await s1End).toEqual([{ reason: 'replaced' }, 'io server disconnect']);

    // S2's heartbeats count (the payload is what every instance shows), and S1's late close changed
    // nothing: a close of the current connection would have made the device offline at once.
    const fromS2 = { ...HEARTBEAT, uptimeSec: 4242 };
    await ask(s2, 'heartbeat', fromS2);
    for (const instance of quiet) {
      expect((await cluster.getDevice(instance, deviceId, customer)).presence).toMatchObject({
        state: 'online',
        lastHeartbeat: fromS2,
      });
    }
    await holdsFor(
      'the device to stay online on both instances while S2 is connected',
      () => statesEverywhere(deviceId, quiet),
      (states) => states.every((state) => state === 'online'),
      1000,
    );

    // The portal channel works after the restart; the device never flickered offline or online again.
    s2.disconnect();
    await eventually(
      'the portal saw the device offline once S2 closed',
      () => Promise.resolve(statesOf(seen, deviceId)),
      (states) => states.includes('offline'),
    );
    expect(statesOf(seen, deviceId)).toEqual(['online', 'offline']);
    portal.disconnect();
  });

  it('rebuilds deadlines after FLUSHALL: a silent device goes stale and offline once, a connected one stays online', async () => {
    const silent = (await cluster.createDevice(customer, 'silent')).credentials;
    const connected = (await cluster.createDevice(customer, 'connected')).credentials;
    const portal = await cluster.sockets.connectPortal(a.url, customer);
    const seen: Statuses = record<DeviceResponse>(portal, 'device:status');

    // The connected device's recorded last sign is its connection: its socket's liveness signs go to the
    // cache only, so by the flush the database's sign is older than the stale threshold.
    await cluster.sockets.connectAgent(b.url, connected);
    await holdsFor(
      'the connected device to stay online on both instances',
      () => statesEverywhere(connected.deviceId),
      (states) => states.every((state) => state === 'online'),
      2000,
    );
    const beat = await request(`${a.url}/v1/agent/heartbeat`, {
      method: 'POST',
      authorization: basic(silent.deviceId, silent.secret),
      body: HEARTBEAT,
    });
    expect(beat.status).toBe(200);
    const lastSeenAt = Date.parse(
      (await cluster.getDevice(a, silent.deviceId, customer)).presence.lastSeenAt ?? '',
    );
    await eventually(
      'the portal saw both devices online',
      () => Promise.resolve([statesOf(seen, silent.deviceId), statesOf(seen, connected.deviceId)]),
      (states) => states.every((list) => list.includes('online')),
    );

    await withAdmin((admin) => admin.flushall());

    await eventually(
      'the portal saw the silent device offline',
      () => Promise.resolve(statesOf(seen, silent.deviceId)),
      (states) => states.includes('offline'),
      { timeoutMs: 8000 },
    );
    // On time: offline 3 heartbeat intervals after its last sign, as if nothing had been lost.
    const offlineAt = seen.find(
      ({ payload }) => payload.id === silent.deviceId && payload.presence.state === 'offline',
    )?.at;
    expect((offlineAt ?? 0) - lastSeenAt).toBeGreaterThanOrEqual(3000);
    expect((offlineAt ?? 0) - lastSeenAt).toBeLessThan(4500);
    expect(statesOf(seen, silent.deviceId)).toEqual(['online', 'stale', 'offline']);
    const transitions = [a, b].flatMap((instance) =>
      instance.transitions.filter((t) => t.deviceId === silent.deviceId).map(({ to }) => to),
    );
    expect(transitions.sort()).toEqual(['offline', 'online', 'stale']);

    // The connected device was signed for again at once: no transition, online everywhere, although its
    // recorded sign alone would have made it stale at once.
    await holdsFor(
      'the connected device to stay online on both instances',
      () => statesEverywhere(connected.deviceId),
      (states) => states.every((state) => state === 'online'),
      500,
    );
    expect(statesOf(seen, connected.deviceId)).toEqual(['online']);
    for (const instance of [a, b]) {
      expect(await listed(instance, 'online')).toContain(connected.deviceId);
      expect(await listed(instance, 'online')).not.toContain(silent.deviceId);
      expect(await listed(instance, 'offline')).toContain(silent.deviceId);
    }
    // The loss was noticed through the marker, which the recovery wrote back.
    expect(await withAdmin((admin) => admin.get(`${keyPrefix}presence:seeded`))).not.toBeNull();
    portal.disconnect();
  });

  it('rebuilds a device whose key alone was evicted, and takes it stale and offline on time', async () => {
    const { credentials } = await cluster.createDevice(customer, 'evicted');
    const { deviceId } = credentials;
    const portal = await cluster.sockets.connectPortal(b.url, customer);
    const seen: Statuses = record<DeviceResponse>(portal, 'device:status');
    const beat = await request(`${a.url}/v1/agent/heartbeat`, {
      method: 'POST',
      authorization: basic(deviceId, credentials.secret),
      body: HEARTBEAT,
    });
    expect(beat.status).toBe(200);
    const lastSeenAt = Date.parse((await cluster.getDevice(a, deviceId, customer)).presence.lastSeenAt ?? '');

    // What an eviction or an expiry does: the device's hot state goes, its deadline stays.
    expect(await withAdmin((admin) => admin.del(`${keyPrefix}presence:${deviceId}`))).toBe(1);

    await eventually(
      'the portal saw the device offline',
      () => Promise.resolve(statesOf(seen, deviceId)),
      (states) => states.includes('offline'),
      { timeoutMs: 8000 },
    );
    expect(statesOf(seen, deviceId)).toEqual(['online', 'stale', 'offline']);
    const offlineAt = seen.find(({ payload }) => payload.presence.state === 'offline')?.at ?? 0;
    expect(offlineAt - lastSeenAt).toBeGreaterThanOrEqual(3000);
    expect(await statesEverywhere(deviceId)).toEqual(['offline', 'offline']);
    portal.disconnect();
  });

  it('lists a device under the state it is in now, never under the one its row last recorded', async () => {
    const { credentials } = await cluster.createDevice(customer, 'recorded-online');
    const { deviceId } = credentials;
    // The database says online, last seen a minute ago; the cache knows nothing of the device.
    await queryDatabase(
      cluster.stack.database.url,
      `update public.devices set presence_state = 'online', last_seen_at = now() - interval '1 minute'
       where id = $1`,
      [deviceId],
    );

    for (const instance of [a, b]) {
      expect((await cluster.getDevice(instance, deviceId, customer)).presence.state).toBe('offline');
      expect(await listed(instance, 'online')).not.toContain(deviceId);
      expect(await listed(instance, 'stale')).not.toContain(deviceId);
      expect(await listed(instance, 'offline')).toContain(deviceId);
    }
  });
});

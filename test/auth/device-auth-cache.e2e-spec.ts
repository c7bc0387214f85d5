import { randomBytes, randomUUID } from 'node:crypto';
import { createDevToken } from '../../src/auth/dev-token';
import { DeviceCredentialsService } from '../../src/auth/device-credentials.service';
import { DeviceCredentialStore } from '../../src/auth/device-credential.store';
import { eventually } from '../support/eventually';
import { findFreePort } from '../support/free-port';
import {
  basic,
  bearer,
  type GatewayInstance,
  request,
  startGatewayInstance,
} from '../support/gateway-instance';
import { type InProcessApp, startInProcessApp } from '../support/in-process-app';
import { refusal, SocketClients } from '../support/socket-clients';
import { dropSubscriberConnections } from '../support/subscriber-connections';
import { type SupabaseStack, startSupabaseStack } from '../support/supabase-stack';
import { queryDatabase } from '../support/test-database';
import { ThrowawayRedis } from '../support/throwaway-redis';

interface Created {
  credentials: { deviceId: string; secret: string };
}

const DEVICE_REASONS = ['missing', 'malformed', 'unknown_device', 'revoked', 'wrong_secret'];

/** auth_failures_total of one instance, as Prometheus scrapes it, by "principal reason". */
async function authFailures(instance: GatewayInstance): Promise<Map<string, number>> {
  const text = await (await fetch(`${instance.url}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const [, principal, reason, value] of text.matchAll(
    /^auth_failures_total\{principal="([^"]+)",reason="([^"]+)"\} (\d+)$/gm,
  )) {
    counts.set(`${principal as string} ${reason as string}`, Number(value));
  }
  return counts;
}

/**
 * Device authentication across two gateway instances on real PostgreSQL (DATA_BACKEND=postgres) and real
 * Redis: refused ids are remembered like verified ones, a creation on one instance is accepted on the
 * other at once, and refusals are counted by reason.
 */
describe('device authentication across instances', () => {
  const keyPrefix = `test:device-auth-cache:${randomUUID()}:`;
  let stack: SupabaseStack;
  let a: GatewayInstance;
  let b: GatewayInstance;
  let customer: string;
  const sockets = new SocketClients();

  /** Calls of A's DeviceCredentialStore.find (the real SQL adapter, spied on, not replaced) for one id. */
  let readsOnA: (deviceId: string) => number;
  let readsOnB: (deviceId: string) => number;

  const heartbeat = (instance: GatewayInstance, deviceId: string, secret: string) =>
    request(`${instance.url}/v1/agent/heartbeat`, {
      method: 'POST',
      authorization: basic(deviceId, secret),
      body: { uptimeSec: 1 },
    });

  const createDevice = async (instance: GatewayInstance): Promise<Created> => {
    const response = await request<Created>(`${instance.url}/v1/devices`, {
      method: 'POST',
      authorization: bearer(customer),
      body: { name: 'pi' },
    });
    expect(response.status).toBe(201);
    return response.body;
  };

  function countReads(instance: GatewayInstance): (deviceId: string) => number {
    const spy = jest.spyOn(instance.app.get(DeviceCredentialStore), 'find');
    return (deviceId) => spy.mock.calls.filter(([id]) => id === deviceId).length;
  }

  beforeAll(async () => {
    stack = await startSupabaseStack();
    const env = {
      DATA_BACKEND: 'postgres',
      DATABASE_URL: stack.database.url,
      CACHE_BACKEND: 'redis',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: keyPrefix,
    };
    a = await startGatewayInstance(stack.appConfig(env));
    b = await startGatewayInstance(stack.appConfig(env));
    readsOnA = countReads(a);
    readsOnB = countReads(b);
    customer = (await stack.mintCustomerToken()).accessToken;
  }, 60_000);

  afterAll(async () => {
    sockets.closeAll();
    await a?.close();
    await b?.close();
    await stack?.stop();
  });

  it('has a series for every device refusal reason, at zero, before the first refusal', async () => {
    const counts = await authFailures(b);

    for (const principal of ['device', 'device-socket']) {
      for (const reason of DEVICE_REASONS) expect(counts.get(`${principal} ${reason}`)).toBe(0);
    }
  });

  it('reads the database once per instance for an unknown id tried again and again, over HTTP and sockets', async () => {
    const unknownId = randomUUID();

    for (let attempt = 0; attempt < 10; attempt += 1) {
      const response = await heartbeat(a, unknownId, 'guess');
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ code: 'invalid_credentials' });
    }
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const refused = await refusal(sockets.agent(a.url, { deviceId: unknownId, secret: 'guess' }));
      expect(refused.data?.code).toBe('invalid_credentials');
    }
    for (let attempt = 0; attempt < 5; attempt += 1) {
      expect((await heartbeat(b, unknownId, 'guess')).status).toBe(401);
    }

    expect(readsOnA(unknownId)).toBe(1);
    expect(readsOnB(unknownId)).toBe(1);
  });

  it('accepts on A at once a device created on B right after A refused its id', async () => {
    // No client can know a device's id before it exists; the database is told which id to give next so
    // that A can have refused it first, as a lookup racing the creation would.
    const deviceId = randomUUID();
    expect((await heartbeat(a, deviceId, 'not-yet')).status).toBe(401);
    expect(readsOnA(deviceId)).toBe(1);

    await queryDatabase(
      stack.database.url,
      `alter table public.devices alter column id set default '${deviceId}'::uuid`,
      [],
    );
    let created: Created;
    try {
      created = await createDevice(b);
    } finally {
      await queryDatabase(
        stack.database.url,
        'alter table public.devices alter column id set default gen_random_uuid()',
        [],
      );
    }
    expect(created.credentials.deviceId).toBe(deviceId);

    const accepted = await heartbeat(a, deviceId, created.credentials.secret);
    expect(accepted.status).toBe(200);
    await sockets.connectAgent(a.url, created.credentials);
  });

  it('accepts a device whose creation broadcast it missed once its cache connection resumes', async () => {
    const deviceId = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    expect((await heartbeat(a, deviceId, secret)).status).toBe(401);
    // Created without a broadcast (as when the creating instance lost Redis): A answers from memory.
    await queryDatabase(
      stack.database.url,
      `insert into public.devices (id, customer_id, name, secret_hash) values ($1, $2, 'pi', $3)`,
      [deviceId, randomUUID(), a.app.get(DeviceCredentialsService).hashSecret(secret)],
    );
    expect((await heartbeat(a, deviceId, secret)).status).toBe(401);
    expect(readsOnA(deviceId)).toBe(1);

    expect(await dropSubscriberConnections(keyPrefix)).toBeGreaterThan(0);

    await eventually(
      'A reads the device again once its subscriptions resume',
      async () => (await heartbeat(a, deviceId, secret)).status,
      (status) => status === 200,
    );
  });

  it('counts refused device authentications by reason, over HTTP and in socket handshakes', async () => {
    const live = await createDevice(a);
    const revoked = await createDevice(a);
    expect(
      (
        await request(`${b.url}/v1/devices/${revoked.credentials.deviceId}`, {
          method: 'DELETE',
          authorization: bearer(customer),
        })
      ).status,
    ).toBe(204);
    const before = await authFailures(a);

    const httpAttempts: [string | undefined, number][] = [
      [undefined, 401],
      [basic('not-a-uuid', 'secret'), 401],
      [basic(randomUUID(), 'secret'), 401],
      [basic(revoked.credentials.deviceId, revoked.credentials.secret), 401],
      [basic(live.credentials.deviceId, 'wrong'), 401],
    ];
    for (const [authorization, status] of httpAttempts) {
      const response = await request(`${a.url}/v1/agent/heartbeat`, {
        method: 'POST',
        authorization,
        body: { uptimeSec: 1 },
      });
      expect(response.status).toBe(status);
    }
    const handshakes: Record<string, unknown>[] = [
      {},
      { deviceId: 'not-a-uuid', secret: 'secret' },
      { deviceId: randomUUID(), secret: 'secret' },
      revoked.credentials,
      { deviceId: live.credentials.deviceId, secret: 'wrong' },
    ];
    for (const auth of handshakes) await refusal(sockets.agent(a.url, auth));

    const after = await authFailures(a);
    const increments = Object.fromEntries(
      [...after].map(([series, value]) => [series, value - (before.get(series) ?? 0)]),
    );
    const expected = Object.fromEntries(
      [...after.keys()].map((series) => {
        const [principal, reason] = series.split(' ') as [string, string];
        const counted = ['device', 'device-socket'].includes(principal) && DEVICE_REASONS.includes(reason);
        return [series, counted ? 1 : 0];
      }),
    );
    expect(increments).toEqual(expected);
  });
});

/** The creation broadcast is best effort: a device created while Redis is away is created all the same. */
describe('device creation while the cache is away', () => {
  let redis: ThrowawayRedis;
  let gateway: InProcessApp;

  beforeAll(async () => {
    redis = new ThrowawayRedis(await findFreePort());
    await redis.start();
    gateway = await startInProcessApp({
      env: {
        CACHE_BACKEND: 'redis',
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: 'test:creation-outage:',
        REDIS_COMMAND_TIMEOUT_MS: '300',
        REDIS_RECONNECT_MAX_DELAY_MS: '100',
        LOG_LEVEL: 'warn',
      },
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await redis?.stop();
  });

  it('creates the device, logs the lost broadcast, and accepts the device once Redis is back', async () => {
    const token = await createDevToken(gateway.dataDir, { sub: randomUUID() });
    await redis.kill();

    const created = await gateway.app.inject({
      method: 'POST',
      url: '/v1/devices',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'pi' }),
    });

    expect(created.statusCode).toBe(201);
    expect(gateway.logs.entries().map((entry) => entry.msg)).toContainEqual(
      expect.stringMatching(/^Creation of .+ not broadcast/),
    );
    await redis.start();
    const { deviceId, secret } = created.json<Created>().credentials;
    await eventually(
      'the device heartbeats once Redis is back',
      async () =>
        (
          await gateway.app.inject({
            method: 'POST',
            url: '/v1/agent/heartbeat',
            headers: { authorization: basic(deviceId, secret), 'content-type': 'application/json' },
            payload: JSON.stringify({ uptimeSec: 1 }),
          })
        ).statusCode,
      (status) => status === 200,
    );
  });
});

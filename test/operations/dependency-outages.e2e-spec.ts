import { randomUUID } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import { Client } from 'pg';
import { type Socket } from 'socket.io-client';
import { type AppConfig } from '../../src/config/app-config';
import { eventually } from '../support/eventually';
import { findFreePort } from '../support/free-port';
import { basic, bearer, type GatewayInstance, startGatewayInstance } from '../support/gateway-instance';
import { LOCAL_REDIS_URL } from '../support/local-services';
import { startPostgrest, type PostgrestServer } from '../support/postgrest';
import { type ConnectError, refusal, SocketClients } from '../support/socket-clients';
import { startSupabaseFront, type SupabaseFront } from '../support/supabase-front';
import { testConfig } from '../support/test-config';
import { queryDatabase } from '../support/test-database';
import { ThrowawayPostgres } from '../support/throwaway-postgres';
import { ThrowawayRedis } from '../support/throwaway-redis';
import {
  createTestSigningKeys,
  mintCustomerAccessToken,
  mintServiceRoleKey,
  type TestSigningKeys,
} from '../support/tokens';

/** Short bounds, so that outages are answered and recoveries noticed within a test. */
const DATABASE_TIMEOUT_MS = 1500;
const REDIS_COMMAND_TIMEOUT_MS = 400;
const RETRY_AFTER_SEC = 3;
/** What an answer may take beyond its timeout on a loaded two-core runner; well under one more timeout. */
const MARGIN_MS = 700;

const FAST_DEPENDENCIES = {
  DATABASE_TIMEOUT_MS: String(DATABASE_TIMEOUT_MS),
  REDIS_COMMAND_TIMEOUT_MS: String(REDIS_COMMAND_TIMEOUT_MS),
  REDIS_RECONNECT_MAX_DELAY_MS: '100',
  HEALTH_CHECK_TIMEOUT_MS: '500',
  DEPENDENCY_RETRY_AFTER_SEC: String(RETRY_AFTER_SEC),
  // Every device request reads its credentials from the database, as after a restart or a cache expiry.
  DEVICE_AUTH_CACHE_TTL_MS: '0',
};

interface Answer<Body = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: Body;
  elapsedMs: number;
}

async function call<Body = Record<string, unknown>>(
  gateway: GatewayInstance,
  method: string,
  path: string,
  authorization?: string,
  body?: unknown,
): Promise<Answer<Body>> {
  const started = Date.now();
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: {
      ...(authorization === undefined ? {} : { authorization }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text === '' ? {} : JSON.parse(text)) as Body,
    elapsedMs: Date.now() - started,
  };
}

/** The answer to an outage on every route: 503 problem+json, when to retry, and nothing about the cause. */
function expectOutageAnswer(answer: Answer, boundMs: number): void {
  expect(answer.status).toBe(503);
  expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(answer.headers.get('retry-after')).toBe(String(RETRY_AFTER_SEC));
  expect(answer.body).toMatchObject({
    status: 503,
    code: 'dependency_unavailable',
    retryAfterSec: RETRY_AFTER_SEC,
  });
  expect(JSON.stringify(answer.body)).not.toMatch(/ECONN|127\.0\.0\.1|PGRST|timeout|Stream|terminated/i);
  expect(answer.elapsedMs).toBeLessThan(boundMs);
}

interface Readiness {
  status: number;
  body: { error?: Record<string, { status: string; message?: string }> };
}

async function readiness(gateway: GatewayInstance): Promise<Readiness> {
  const answer = await call<Readiness['body']>(gateway, 'GET', '/health/ready');
  return { status: answer.status, body: answer.body };
}

async function outagesCounted(gateway: GatewayInstance, dependency: string): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const match = new RegExp(`^dependency_unavailable_total\\{dependency="${dependency}"\\} (\\d+)$`, 'm').exec(
    text,
  );
  if (!match?.[1]) throw new Error(`no dependency_unavailable_total for ${dependency} in /metrics`);
  return Number(match[1]);
}

function emitWithAck<T>(socket: Socket, event: string, payload: unknown): Promise<T> {
  return socket.timeout(5000).emitWithAck(event, payload) as Promise<T>;
}

interface DeviceCredentials {
  deviceId: string;
  secret: string;
}

/**
 * README.md#when-a-dependency-is-down under outages: the data backend or the cache stops (a throwaway PostgreSQL cluster
 * crashed or frozen, a throwaway Redis killed or frozen) under a running gateway. Requests and socket
 * events are answered 503 dependency_unavailable within their timeout, and the same instance serves
 * again by itself once the dependency is back, with nothing stored lost.
 */
describe('dependency outages', () => {
  let cluster: ThrowawayPostgres;
  let keys: TestSigningKeys;
  let front: SupabaseFront;
  const gateways: GatewayInstance[] = [];
  const sockets = new SocketClients();

  beforeAll(async () => {
    cluster = await ThrowawayPostgres.create();
    keys = await createTestSigningKeys();
    // Serves the JWKS customer tokens are checked with; the postgres-mode gateway has no data API.
    front = await startSupabaseFront({ postgrestUrl: 'http://127.0.0.1:9', jwks: keys.publicJwks });
  }, 60_000);

  afterAll(async () => {
    sockets.closeAll();
    await Promise.all(gateways.map((gateway) => gateway.close()));
    await front?.stop();
    await cluster?.destroy();
  });

  async function startGateway(config: AppConfig): Promise<GatewayInstance> {
    const gateway = await startGatewayInstance(config);
    gateways.push(gateway);
    return gateway;
  }

  async function customerToken(projectUrl = front.url): Promise<string> {
    return (await mintCustomerAccessToken(keys, projectUrl)).accessToken;
  }

  async function createDevice(gateway: GatewayInstance, token: string): Promise<DeviceCredentials> {
    const created = await call(gateway, 'POST', '/v1/devices', bearer(token), { name: 'pi' });
    expect(created.status).toBe(201);
    return (created.body as { credentials: DeviceCredentials }).credentials;
  }

  async function listedIds(gateway: GatewayInstance, token: string): Promise<string[]> {
    const listed = await call(gateway, 'GET', '/v1/devices?limit=100', bearer(token));
    expect(listed.status).toBe(200);
    return (listed.body as { items: { id: string }[] }).items.map((item) => item.id).sort();
  }

  const heartbeat = (gateway: GatewayInstance, device: DeviceCredentials) =>
    call(gateway, 'POST', '/v1/agent/heartbeat', basic(device.deviceId, device.secret), { uptimeSec: 1 });

  describe('DATA_BACKEND=postgres: PostgreSQL stops under a running gateway', () => {
    let gateway: GatewayInstance;
    let databaseUrl: string;
    let token: string;
    let device: DeviceCredentials;
    let storedBefore: string[];
    let answered503 = 0;

    beforeAll(async () => {
      databaseUrl = await cluster.createDatabase('outages_postgres');
      gateway = await startGateway(
        testConfig({
          ...FAST_DEPENDENCIES,
          DATA_BACKEND: 'postgres',
          DATABASE_URL: databaseUrl,
          // One connection: a second caller waits for it, as every caller does when the pool is exhausted.
          DATABASE_POOL_MAX: '1',
          SUPABASE_URL: front.url,
          CACHE_BACKEND: 'redis',
          REDIS_URL: LOCAL_REDIS_URL,
          REDIS_KEY_PREFIX: `test:outages:${randomUUID()}:`,
        }),
      );
      token = await customerToken();
      device = await createDevice(gateway, token);
      await createDevice(gateway, token);
      const registered = await call(
        gateway,
        'POST',
        '/v1/agent/register',
        basic(device.deviceId, device.secret),
        { agentVersion: '1.0.0', capabilities: ['ping'] },
      );
      expect(registered.status).toBe(200);
      expect((await heartbeat(gateway, device)).status).toBe(200);
      storedBefore = await listedIds(gateway, token);
    }, 30_000);

    it('answers the device list, device creation and heartbeats 503 at once when the database crashed', async () => {
      await cluster.crash();

      const answers = [
        await call(gateway, 'GET', '/v1/devices', bearer(token)),
        await call(gateway, 'POST', '/v1/devices', bearer(token), { name: 'during-outage' }),
        await heartbeat(gateway, device),
      ];

      for (const answer of answers) expectOutageAnswer(answer, DATABASE_TIMEOUT_MS);
      answered503 += answers.length;
    });

    it('says in readiness, in words, that the database is not reachable', async () => {
      const { status, body } = await readiness(gateway);

      expect(status).toBe(503);
      expect(body.error?.database).toMatchObject({
        status: 'down',
        message: 'database: not reachable (connection refused)',
      });
      expect(body.error?.cache).toBeUndefined();
    });

    it('answers a portal event that needs the database with the same problem in its ack', async () => {
      const portal = await sockets.connectPortal(gateway.url, token);

      const ack = await emitWithAck<{ ok: boolean; error?: Record<string, unknown> }>(
        portal,
        'device:subscribe',
        { deviceId: device.deviceId },
      );

      expect(ack.ok).toBe(false);
      expect(ack.error).toMatchObject({
        status: 503,
        code: 'dependency_unavailable',
        retryAfterSec: RETRY_AFTER_SEC,
      });
      answered503 += 1;
    });

    it('refuses an agent handshake it cannot verify with dependency_unavailable, not as bad credentials', async () => {
      const refused: ConnectError = await refusal(
        sockets.agent(gateway.url, { deviceId: device.deviceId, secret: device.secret }),
      );

      expect(refused.data).toEqual({ code: 'dependency_unavailable', retryAfterSec: RETRY_AFTER_SEC });
      answered503 += 1;
    });

    it('counts every outage it answered under the database, and none under the cache', async () => {
      expect(await outagesCounted(gateway, 'database')).toBe(answered503);
      expect(await outagesCounted(gateway, 'cache')).toBe(0);
    });

    it('answers within its timeout while the database is blocked, a caller waiting for the pool too', async () => {
      await cluster.start();
      await eventually(
        'the gateway reads the database again',
        () => call(gateway, 'GET', '/v1/devices', bearer(token)),
        ({ status }) => status === 200,
      );
      // An operator's migration holding the table: the server answers, but not the gateway's queries.
      const migration = new Client({ connectionString: databaseUrl });
      await migration.connect();
      try {
        await migration.query('begin');
        await migration.query('lock table public.devices in access exclusive mode');

        // The first takes the only connection and waits on the lock until its statement timeout. The
        // second, a moment later, waits for that connection, gets it just before its own wait would
        // time out, then waits on the lock: bounded only step by step, it took nearly twice as long.
        const first = call(gateway, 'GET', '/v1/devices', bearer(token));
        await setTimeout(150);
        const answers = await Promise.all([
          first,
          call(gateway, 'GET', '/v1/devices?limit=5', bearer(token)),
        ]);

        for (const answer of answers) expectOutageAnswer(answer, DATABASE_TIMEOUT_MS + MARGIN_MS);
        const { body } = await readiness(gateway);
        expect(body.error?.database?.message).toBe('database: no answer within 500 ms');
      } finally {
        await migration.query('rollback');
        await migration.end();
      }
    });

    it('answers within its timeout while the database hangs altogether', async () => {
      await eventually(
        'the gateway reads the database again',
        () => call(gateway, 'GET', '/v1/devices', bearer(token)),
        ({ status }) => status === 200,
      );
      // The pooled connection is open when the server stops answering on it; the second caller waits
      // for it, then for a new connection the server accepts but never answers.
      await cluster.freeze();

      const answers = await Promise.all([
        call(gateway, 'GET', '/v1/devices', bearer(token)),
        heartbeat(gateway, device),
      ]);

      for (const answer of answers) expectOutageAnswer(answer, DATABASE_TIMEOUT_MS + MARGIN_MS);
    });

    it('serves the three routes again by itself once the database is back, with nothing stored lost', async () => {
      await cluster.resume();

      await eventually(
        'the heartbeat is answered 200 again',
        () => heartbeat(gateway, device),
        ({ status }) => status === 200,
      );
      expect(await listedIds(gateway, token)).toEqual(storedBefore);
      const created = await call(gateway, 'POST', '/v1/devices', bearer(token), { name: 'after-outage' });
      expect(created.status).toBe(201);
      expect((await readiness(gateway)).status).toBe(200);
      const { rows } = await queryDatabase<{ id: string }>(
        databaseUrl,
        "select id from public.devices where name <> 'after-outage' order by id",
        [],
      );
      expect(rows.map((row) => row.id).sort()).toEqual(storedBefore);
    });
  });

  describe('DATA_BACKEND=supabase: PostgreSQL behind PostgREST stops under a running gateway', () => {
    let postgrest: PostgrestServer;
    let project: SupabaseFront;
    let gateway: GatewayInstance;
    let token: string;
    let device: DeviceCredentials;
    let storedBefore: string[];

    beforeAll(async () => {
      await cluster.createDatabase('outages_supabase');
      postgrest = await startPostgrest({
        databaseName: 'outages_supabase',
        databaseUrl: cluster.url('outages_supabase', 'authenticator'),
        jwks: keys.postgrestJwks,
      });
      project = await startSupabaseFront({ postgrestUrl: postgrest.url, jwks: keys.publicJwks });
      gateway = await startGateway(
        testConfig({
          ...FAST_DEPENDENCIES,
          DATA_BACKEND: 'supabase',
          SUPABASE_URL: project.url,
          SUPABASE_SERVICE_ROLE_KEY: await mintServiceRoleKey(keys),
        }),
      );
      token = await customerToken(project.url);
      device = await createDevice(gateway, token);
      expect((await heartbeat(gateway, device)).status).toBe(200);
      storedBefore = await listedIds(gateway, token);
    }, 30_000);

    afterAll(async () => {
      await project?.stop();
      await postgrest?.stop();
    });

    it('answers the three routes 503 at once when the database crashed', async () => {
      await cluster.crash();

      const answers = [
        await call(gateway, 'GET', '/v1/devices', bearer(token)),
        await call(gateway, 'POST', '/v1/devices', bearer(token), { name: 'during-outage' }),
        await heartbeat(gateway, device),
      ];

      for (const answer of answers) expectOutageAnswer(answer, DATABASE_TIMEOUT_MS);
      const { body } = await readiness(gateway);
      expect(body.error?.database?.message).toBe(
        'database: not reachable (the data API cannot reach PostgreSQL)',
      );
    });

    it('answers within its timeout while the database hangs behind PostgREST', async () => {
      await cluster.start();
      await eventually(
        'PostgREST serves again',
        () => call(gateway, 'GET', '/v1/devices', bearer(token)),
        ({ status }) => status === 200,
        { timeoutMs: 20_000 },
      );
      await cluster.freeze();

      const answers = [
        await call(gateway, 'GET', '/v1/devices', bearer(token)),
        await heartbeat(gateway, device),
      ];

      for (const answer of answers) expectOutageAnswer(answer, DATABASE_TIMEOUT_MS + MARGIN_MS);
    });

    it('serves again by itself once the database is back, with nothing stored lost', async () => {
      await cluster.resume();

      await eventually(
        'the heartbeat is answered 200 again',
        () => heartbeat(gateway, device),
        ({ status }) => status === 200,
        { timeoutMs: 20_000 },
      );
      expect(await listedIds(gateway, token)).toEqual(storedBefore);
      expect((await call(gateway, 'POST', '/v1/devices', bearer(token), { name: 'after' })).status).toBe(201);
    });
  });

  describe('CACHE_BACKEND=redis: Redis stops under a running gateway', () => {
    let redis: ThrowawayRedis;
    let gateway: GatewayInstance;
    let token: string;
    let device: DeviceCredentials;
    let agent: Socket;

    beforeAll(async () => {
      redis = new ThrowawayRedis(await findFreePort());
      await redis.start();
      gateway = await startGateway(
        testConfig({
          ...FAST_DEPENDENCIES,
          DATA_BACKEND: 'postgres',
          DATABASE_URL: await cluster.createDatabase('outages_cache'),
          SUPABASE_URL: front.url,
          CACHE_BACKEND: 'redis',
          REDIS_URL: redis.url,
          REDIS_KEY_PREFIX: 'outages:',
        }),
      );
      token = await customerToken();
      device = await createDevice(gateway, token);
      agent = await sockets.connectAgent(gateway.url, { deviceId: device.deviceId, secret: device.secret });
      expect((await heartbeat(gateway, device)).status).toBe(200);
    }, 30_000);

    afterAll(async () => {
      await redis?.stop();
    });

    it('answers heartbeats, over HTTP and over the socket, and the device list 503 at once when Redis died', async () => {
      await redis.kill();

      expectOutageAnswer(await heartbeat(gateway, device), REDIS_COMMAND_TIMEOUT_MS + MARGIN_MS);
      expectOutageAnswer(
        await call(gateway, 'GET', '/v1/devices', bearer(token)),
        REDIS_COMMAND_TIMEOUT_MS + MARGIN_MS,
      );
      const ack = await emitWithAck<{ error?: Record<string, unknown> }>(agent, 'heartbeat', {
        uptimeSec: 2,
      });
      expect(ack.error).toMatchObject({
        status: 503,
        code: 'dependency_unavailable',
        retryAfterSec: RETRY_AFTER_SEC,
      });
      expect(await outagesCounted(gateway, 'cache')).toBe(3);
    });

    it('says in readiness, in words, that the cache is not reachable', async () => {
      // Until a reconnection attempt has failed, the client only knows that it lost the connection.
      const { status, body } = await eventually(
        'readiness names why the cache is down',
        () => readiness(gateway),
        ({ body: ready }) => ready.error?.cache?.message === 'cache: not reachable (connection refused)',
      );

      expect(status).toBe(503);
      expect(body.error?.cache).toMatchObject({
        status: 'down',
        message: 'cache: not reachable (connection refused)',
      });
    });

    it('answers within the command timeout while Redis hangs', async () => {
      await redis.start();
      await eventually(
        'the heartbeat is answered 200 again',
        () => heartbeat(gateway, device),
        ({ status }) => status === 200,
      );
      redis.freeze();

      const answer = await heartbeat(gateway, device);

      expectOutageAnswer(answer, REDIS_COMMAND_TIMEOUT_MS + MARGIN_MS);
      expect(answer.elapsedMs).toBeGreaterThanOrEqual(REDIS_COMMAND_TIMEOUT_MS - 50);
    });

    it('serves again by itself once Redis is back', async () => {
      redis.resume();

      await eventually(
        'the heartbeat is answered 200 again',
        () => heartbeat(gateway, device),
        ({ status }) => status === 200,
      );
      expect((await call(gateway, 'GET', '/v1/devices', bearer(token))).status).toBe(200);
      expect((await readiness(gateway)).status).toBe(200);
    });
  });
});

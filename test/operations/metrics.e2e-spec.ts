import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { type PlanResponse } from '../../src/remediation/dto/plan.response';
import { eventually } from '../support/eventually';
import { findFreePort } from '../support/free-port';
import {
  basic,
  bearer,
  type GatewayInstance,
  request,
  startGatewayInstance,
} from '../support/gateway-instance';
import { startInProcessApp } from '../support/in-process-app';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { startSupabaseStack, type SupabaseStack } from '../support/supabase-stack';
import { scrape, ScrapedMetrics } from '../support/scraped-metrics';
import { ask, refusal } from '../support/socket-clients';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { ThrowawayRedis } from '../support/throwaway-redis';

const SERVICE_KEY = randomBytes(32).toString('base64url');
const HEARTBEAT = { uptimeSec: 7, agentVersion: '2.0.0' };
/** Short, so that a call held behind a lock fails within a test. */
const DATABASE_TIMEOUT_MS = 800;

/**
 * Holds an exclusive lock on the devices table from a connection of the test's own, so that every
 * gateway statement on it waits until DATABASE_TIMEOUT_MS cuts it: a database that does not answer.
 */
async function lockDevices(databaseUrl: string): Promise<{ release(): Promise<void> }> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('begin');
  await client.query('lock table public.devices in access exclusive mode');
  return {
    release: async () => {
      await client.query('rollback');
      await client.end();
    },
  };
}

const DASHBOARD_PATH = join(__dirname, '..', '..', 'deploy', 'grafana', 'gateway-dashboard.json');

interface Dashboard {
  panels: { id: number; type: string; title: string; targets?: { expr: string; datasource: unknown }[] }[];
  templating: { list: { name: string; query: unknown }[] };
}

/** PromQL words that are not metric names: aggregations, functions' modifiers and operators. */
const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);

/**
 * The metric names a PromQL expression selects: what is left once label matchers, ranges, strings,
 * grouping clauses and function calls are taken out.
 */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/(?<![\w:.])[a-zA-Z_:][\w:]*(?![\w:]|\s*\()/g)]
    .map((match) => match[0])
    .filter((name) => !PROMQL_KEYWORDS.has(name));
}

/** What moved between two scrapes for one series (absent before counts as 0). */
function moved(before: ScrapedMetrics, after: ScrapedMetrics, name: string, labels: Record<string, string>) {
  return after.of(name, labels) - (before.value(name, labels) ?? 0);
}

/**
 * The metrics operators need (issue 14 item 6), each scraped from /metrics after the event that moves
 * it, on real parts: two instances on PostgREST/PostgreSQL and Redis with real Socket.IO clients, then a
 * postgres-backed instance on a Redis of its own that the test can freeze, and an embedded one.
 */
describe('metrics', () => {
  describe('on two instances (DATA_BACKEND=supabase, CACHE_BACKEND=redis)', () => {
    let cluster: RealtimeCluster;
    let a: GatewayInstance;
    let b: GatewayInstance;
    let customer: string;

    beforeAll(async () => {
      cluster = await startRealtimeCluster('metrics', 2, {
        SERVICE_KEYS: `planner:${SERVICE_KEY}`,
        METRICS_PRESENCE_CACHE_MS: '0',
        DATABASE_TIMEOUT_MS: String(DATABASE_TIMEOUT_MS),
      });
      [a, b] = cluster.instances as [GatewayInstance, GatewayInstance];
      customer = (await cluster.stack.mintCustomerToken()).accessToken;
    }, 60_000);

    afterAll(async () => {
      await cluster?.close();
    });

    const sockets = async (instance: GatewayInstance) => {
      const metrics = await scrape(instance.url);
      return {
        agent: metrics.of('socket_connections', { namespace: 'agent' }),
        portal: metrics.of('socket_connections', { namespace: 'portal' }),
      };
    };

    it('counts the sockets connected to each instance by namespace', async () => {
      expect(await sockets(a)).toEqual({ agent: 0, portal: 0 });
      const { credentials } = await cluster.createDevice(customer);
      const agent = await cluster.sockets.connectAgent(a.url, credentials);
      const portals = [
        await cluster.sockets.connectPortal(a.url, customer),
        await cluster.sockets.connectPortal(a.url, customer),
      ];

      expect(await sockets(a)).toEqual({ agent: 1, portal: 2 });
      expect(await sockets(b)).toEqual({ agent: 0, portal: 0 });

      agent.disconnect();
      for (const portal of portals) portal.disconnect();
      await eventually(
        'A counts no sockets any more',
        () => sockets(a),
        (counts) => {
          return counts.agent === 0 && counts.portal === 0;
        },
      );
    });

    it('reports the cluster-wide devices by presence state, the same on every instance', async () => {
      const counts = async (instance: GatewayInstance): Promise<Record<string, number>> => {
        const metrics = await scrape(instance.url);
        expect(metrics.of('devices_by_presence_up')).toBe(1);
        return Object.fromEntries(
          metrics
            .all('devices_by_presence')
            .map((sample): [string, number] => [sample.labels.state ?? '', sample.value]),
        );
      };
      // The device of the test before went offline when its socket closed; no device is online now.
      const before = await eventually(
        'no device is online',
        () => counts(a),
        (seen) => seen.online === 0,
      );
      expect(Object.keys(before).sort()).toEqual(['offline', 'online', 'stale', 'unknown']);

      const { credentials } = await cluster.createDevice(customer);
      await cluster.createDevice(customer);
      const agent = await cluster.sockets.connectAgent(b.url, credentials);
      const expected = { ...before, online: (before.online ?? 0) + 1, unknown: (before.unknown ?? 0) + 1 };

      // The device is online through B, and A, which serves none of it, says so too.
      await eventually(
        'A reports the device online',
        () => counts(a),
        (seen) => {
          return JSON.stringify(seen) === JSON.stringify(expected);
        },
      );
      expect(await counts(b)).toEqual(expected);
      agent.disconnect();
      await eventually(
        'A reports it offline',
        () => counts(a),
        (seen) => {
          return seen.online === 0 && seen.offline === (before.offline ?? 0) + 1;
        },
      );
    });

    it('leaves devices by presence absent, and says so, while the database does not answer', async () => {
      const lock = await lockDevices(cluster.stack.database.url);
      try {
        const started = Date.now();
        const metrics = await scrape(a.url);
        expect(Date.now() - started).toBeLessThan(DATABASE_TIMEOUT_MS + 2000);
        expect(metrics.of('devices_by_presence_up')).toBe(0);
        expect(metrics.all('devices_by_presence')).toEqual([]);
        // The rest of the scrape is there.
        expect(metrics.value('socket_connections', { namespace: 'agent' })).toBeDefined();
      } finally {
        await lock.release();
      }
      const metrics = await scrape(a.url);
      expect(metrics.of('devices_by_presence_up')).toBe(1);
      expect(metrics.all('devices_by_presence')).toHaveLength(4);
    });

    it('counts refused HTTP credentials by principal and socket handshakes by namespace, with reasons', async () => {
      const [before, beforeB] = [await scrape(a.url), await scrape(b.url)];
      const { credentials } = await cluster.createDevice(customer);

      const http = await request(`${a.url}/v1/devices`, { authorization: bearer('not-a-token') });
      expect(http.status).toBe(401);
      const heartbeat = await request(`${a.url}/v1/agent/heartbeat`, {
        method: 'POST',
        authorization: basic(credentials.deviceId, 'wrong-secret'),
        body: HEARTBEAT,
      });
      expect(heartbeat.status).toBe(401);
      await refusal(cluster.sockets.portal(a.url, 'not-a-token'));
      await refusal(cluster.sockets.portal(a.url, {}));
      await refusal(cluster.sockets.agent(a.url, { deviceId: credentials.deviceId, secret: 'wrong-secret' }));

      const after = await scrape(a.url);
      const failures = (principal: string, reason: string) =>
        moved(before, after, 'auth_failures_total', { principal, reason });
      expect({
        customer: failures('customer', 'malformed'),
        device: failures('device', 'wrong_secret'),
        portalBadToken: failures('customer-socket', 'malformed'),
        portalMissing: failures('customer-socket', 'missing'),
        agent: failures('device-socket', 'wrong_secret'),
      }).toEqual({ customer: 1, device: 1, portalBadToken: 1, portalMissing: 1, agent: 1 });
      // Counted where they were refused, not on the other instance.
      expect(
        moved(beforeB, await scrape(b.url), 'auth_failures_total', {
          principal: 'device-socket',
          reason: 'wrong_secret',
        }),
      ).toBe(0);
    });

    it('times data API calls by operation kind and counts the refused and the unavailable ones', async () => {
      const series = (operation: string) => ({ backend: 'supabase', operation });
      const before = await scrape(a.url);
      const { device } = await cluster.createDevice(customer);
      const read = await request(`${a.url}/v1/devices/${device.id}`, { authorization: bearer(customer) });
      expect(read.status).toBe(200);
      const serial = `SN-${randomUUID()}`;
      const first = await request(`${a.url}/v1/devices`, {
        method: 'POST',
        authorization: bearer(customer),
        body: { name: 'pi', serial },
      });
      expect(first.status).toBe(201);
      const taken = await request(`${a.url}/v1/devices`, {
        method: 'POST',
        authorization: bearer(customer),
        body: { name: 'pi', serial },
      });
      expect(taken.status).toBe(409);
      let after = await scrape(a.url);

      expect(
        moved(before, after, 'data_backend_call_duration_seconds_count', series('read')),
      ).toBeGreaterThanOrEqual(1);
      expect(
        moved(before, after, 'data_backend_call_duration_seconds_count', series('write')),
      ).toBeGreaterThanOrEqual(3);
      expect(
        moved(before, after, 'data_backend_call_errors_total', { ...series('write'), failure: 'refused' }),
      ).toBe(1);

      const lock = await lockDevices(cluster.stack.database.url);
      try {
        const held = await request(`${a.url}/v1/devices/${device.id}`, { authorization: bearer(customer) });
        expect(held.status).toBe(503);
      } finally {
        await lock.release();
      }
      after = await scrape(a.url);
      expect(
        moved(before, after, 'data_backend_call_errors_total', { ...series('read'), failure: 'unavailable' }),
      ).toBeGreaterThanOrEqual(1);
    });

    it('times Redis calls by operation kind', async () => {
      const before = await scrape(a.url);
      const { credentials } = await cluster.createDevice(customer);
      const agent = await cluster.sockets.connectAgent(a.url, credentials);
      await ask(agent, 'heartbeat', HEARTBEAT);
      const after = await scrape(a.url);

      // Presence moves by Lua scripts on the shared hot store.
      expect(
        moved(before, after, 'redis_call_duration_seconds_count', { operation: 'script' }),
      ).toBeGreaterThanOrEqual(2);
      expect(after.of('redis_call_errors_total', { operation: 'script', failure: 'unavailable' })).toBe(0);
      agent.disconnect();
    });

    it('counts plans by final status once, on the instance that ended them', async () => {
      const { device, credentials } = await cluster.createDevice(customer);
      const registered = await request(`${a.url}/v1/agent/register`, {
        method: 'POST',
        authorization: basic(credentials.deviceId, credentials.secret),
        body: { agentVersion: '1.0.0', capabilities: ['flush_dns'] },
      });
      expect(registered.status).toBe(200);
      const session = await request<{ id: string }>(`${a.url}/v1/devices/${device.id}/sessions`, {
        method: 'POST',
        authorization: bearer(customer),
        body: {},
      });
      expect(session.status).toBe(201);
      const plan = await request<PlanResponse>(`${a.url}/v1/sessions/${session.body.id}/remediation-plans`, {
        method: 'POST',
        authorization: bearer(SERVICE_KEY),
        body: {
          summary: 'DNS is stale',
          rationale: 'lookups answer old addresses',
          risk: 'low',
          steps: [{ type: 'flush_dns', params: {}, description: 'Flush the DNS cache' }],
        },
      });
      expect(plan.status).toBe(201);
      const ended = { status: 'rejected' };
      const [beforeA, beforeB] = [await scrape(a.url), await scrape(b.url)];
      // Every final status is there from start-up, so that a rate over the first plan is not empty.
      for (const status of ['completed', 'failed', 'rejected', 'expired', 'cancelled']) {
        expect(beforeB.value('remediation_plans_ended_total', { status })).toBeDefined();
      }

      const rejected = await request(`${b.url}/v1/remediation-plans/${plan.body.id}/reject`, {
        method: 'POST',
        authorization: bearer(customer),
        body: { reason: 'not now' },
      });
      expect(rejected.status).toBe(200);
      const again = await request(`${a.url}/v1/remediation-plans/${plan.body.id}/reject`, {
        method: 'POST',
        authorization: bearer(customer),
        body: {},
      });
      expect(again.status).toBe(409);

      expect(moved(beforeB, await scrape(b.url), 'remediation_plans_ended_total', ended)).toBe(1);
      expect(moved(beforeA, await scrape(a.url), 'remediation_plans_ended_total', ended)).toBe(0);
    });
  });

  describe('the Grafana dashboard (deploy/grafana/gateway-dashboard.json)', () => {
    let cluster: RealtimeCluster;

    beforeAll(async () => {
      cluster = await startRealtimeCluster('metrics-dashboard', 1);
    }, 60_000);

    afterAll(async () => {
      await cluster?.close();
    });

    it('queries only metrics the gateway exports, in every panel and variable', async () => {
      const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;
      const [gateway] = cluster.instances as [GatewayInstance];
      const exported = (await scrape(gateway.url)).exportedNames();

      const graphs = dashboard.panels.filter((panel) => panel.type !== 'row');
      const expressions = [
        ...graphs.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
        // A variable's label_values(series, label) selects by its first argument.
        ...dashboard.templating.list.flatMap(({ query }) => {
          const text =
            typeof query === 'object' && query !== null && 'query' in query ? String(query.query) : '';
          return [...text.matchAll(/label_values\(([^,)]+)/g)].map((match) => match[1] ?? '');
        }),
      ];
      const used = new Set(expressions.flatMap(metricNamesIn));

      expect(graphs.every((panel) => (panel.targets ?? []).length > 0)).toBe(true);
      expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
      expect([...used].filter((name) => !exported.has(name))).toEqual([]);
      // What the issue asks an operator to see is on it.
      for (const name of [
        'http_request_duration_seconds_bucket',
        'socket_connections',
        'devices_by_presence',
        'auth_failures_total',
        'data_backend_call_duration_seconds_bucket',
        'data_backend_call_errors_total',
        'redis_call_duration_seconds_bucket',
        'redis_call_errors_total',
        'commands_finished_total',
        'command_duration_seconds_bucket',
        'command_queue_depth',
        'remediation_plans_ended_total',
      ]) {
        expect(used).toContain(name);
      }
      expect(
        metricNamesIn('histogram_quantile(0.95, sum by (le, route) (rate(x_bucket{a="b"}[5m])))'),
      ).toEqual(['x_bucket']);
    });
  });

  describe('on the SQL backends', () => {
    let database: TestDatabase;
    let redis: ThrowawayRedis;
    let stack: SupabaseStack;
    let gateway: GatewayInstance;
    let customer: string;

    beforeAll(async () => {
      // The stack only signs customer tokens here; the gateway's data is in a database of its own.
      stack = await startSupabaseStack();
      database = await createTestDatabase();
      redis = new ThrowawayRedis(await findFreePort());
      await redis.start();
      gateway = await startGatewayInstance(
        stack.appConfig({
          DATA_BACKEND: 'postgres',
          DATABASE_URL: database.url,
          DATABASE_TIMEOUT_MS: String(DATABASE_TIMEOUT_MS),
          CACHE_BACKEND: 'redis',
          REDIS_URL: redis.url,
          REDIS_COMMAND_TIMEOUT_MS: '300',
          REDIS_RECONNECT_MAX_DELAY_MS: '100',
          DEVICE_AUTH_CACHE_TTL_MS: '0',
          METRICS_PRESENCE_CACHE_MS: '60000',
        }),
      );
      customer = (await stack.mintCustomerToken()).accessToken;
    }, 60_000);

    afterAll(async () => {
      await gateway?.close();
      await redis?.stop();
      await database?.drop();
      await stack?.stop();
    });

    it('times SQL statements and counts the refused and the unavailable ones (DATA_BACKEND=postgres)', async () => {
      const series = { backend: 'postgres', operation: 'query' };
      const before = await scrape(gateway.url);
      const serial = `SN-${randomUUID()}`;
      const create = () =>
        request(`${gateway.url}/v1/devices`, {
          method: 'POST',
          authorization: bearer(customer),
          body: { name: 'pi', serial },
        });
      expect((await create()).status).toBe(201);
      expect((await create()).status).toBe(409);
      let after = await scrape(gateway.url);
      expect(moved(before, after, 'data_backend_call_duration_seconds_count', series)).toBeGreaterThanOrEqual(
        2,
      );
      expect(moved(before, after, 'data_backend_call_errors_total', { ...series, failure: 'refused' })).toBe(
        1,
      );

      const lock = await lockDevices(database.url);
      try {
        expect((await create()).status).toBe(503);
      } finally {
        await lock.release();
      }
      after = await scrape(gateway.url);
      expect(
        moved(before, after, 'data_backend_call_errors_total', { ...series, failure: 'unavailable' }),
      ).toBeGreaterThanOrEqual(1);
    });

    it('serves devices by presence from its cache for METRICS_PRESENCE_CACHE_MS, the database unasked', async () => {
      const first = await scrape(gateway.url);
      expect(first.of('devices_by_presence_up')).toBe(1);
      // Were the database asked, these scrapes would wait for the lock and report the counts absent.
      const lock = await lockDevices(database.url);
      try {
        const scrapes = await Promise.all(Array.from({ length: 5 }, () => scrape(gateway.url)));
        for (const metrics of scrapes) {
          expect(metrics.of('devices_by_presence_up')).toBe(1);
          expect(metrics.all('devices_by_presence')).toEqual(first.all('devices_by_presence'));
        }
      } finally {
        await lock.release();
      }
    });

    it('counts Redis calls that fail while Redis does not answer', async () => {
      const { device, credentials } = await request<{
        device: { id: string };
        credentials: { deviceId: string; secret: string };
      }>(`${gateway.url}/v1/devices`, {
        method: 'POST',
        authorization: bearer(customer),
        body: { name: 'pi' },
      }).then((response) => response.body);
      expect(device.id).toBe(credentials.deviceId);
      const beat = () =>
        request(`${gateway.url}/v1/agent/heartbeat`, {
          method: 'POST',
          authorization: basic(credentials.deviceId, credentials.secret),
          body: HEARTBEAT,
        });
      expect((await beat()).status).toBe(200);
      const before = await scrape(gateway.url);
      expect(before.of('redis_call_duration_seconds_count', { operation: 'script' })).toBeGreaterThanOrEqual(
        1,
      );

      redis.freeze();
      try {
        expect((await beat()).status).toBe(503);
      } finally {
        redis.resume();
      }
      const after = await scrape(gateway.url);
      expect(
        moved(before, after, 'redis_call_errors_total', { operation: 'script', failure: 'unavailable' }),
      ).toBe(1);
      await eventually('heartbeats are served again', beat, (answer) => answer.status === 200);
    });

    it('times the embedded database, its migrations included (DATA_BACKEND=embedded)', async () => {
      const embedded = await startInProcessApp();
      try {
        await embedded.app.getHttpAdapter().getInstance().ready();
        const metrics = ScrapedMetrics.parse(
          (await embedded.app.inject({ method: 'GET', url: '/metrics' })).body,
        );
        expect(
          metrics.of('data_backend_call_duration_seconds_count', { backend: 'embedded', operation: 'query' }),
        ).toBeGreaterThan(0);
        expect(
          metrics.value('data_backend_call_duration_seconds_count', {
            backend: 'postgres',
            operation: 'query',
          }),
        ).toBeUndefined();
        expect(metrics.of('devices_by_presence', { state: 'online' })).toBe(0);
        expect(metrics.all('redis_call_duration_seconds_count')).toEqual([]);
      } finally {
        await embedded.close();
      }
    });
  });
});

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DevicesService } from '../../src/devices/devices.service';
import { ManagedProcess } from '../support/child-process';
import { eventually } from '../support/eventually';
import { findFreePort } from '../support/free-port';
import { startGatewayInstance, type GatewayInstance } from '../support/gateway-instance';
import { httpGet } from '../support/http';
import { customerPrincipal } from '../support/principals';
import { openRawConnection, openRawConnections, type RawConnection } from '../support/raw-connections';
import { ask, SocketClients } from '../support/socket-clients';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { testConfig } from '../support/test-config';

const ROOT = join(__dirname, '..', '..');
const BUILT_MAIN = join(ROOT, 'dist', 'main.js');
const HEADERS_TIMEOUT_MS = 1_000;
/**
 * Well above the others: a refused request must be closed by its refusal, however loaded the machine, and
 * long before this timeout could have closed it.
 */
const REQUEST_TIMEOUT_MS = 6_000;
const IDLE_TIMEOUT_MS = 1_000;
/** Node checks the timeouts periodically; what it allows past them, plus a loaded machine's delay. */
const TIMEOUT_SLACK_MS = 2_500;
const PER_KIND = 1_000;

const partialHeaders = 'POST /v1/devices HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n';
const unauthenticatedPartialBody =
  'POST /v1/devices HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n' +
  'Content-Length: 1000\r\n\r\n{"name":"';

function gatewayEnv(port: number, database: TestDatabase, env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_BACKEND: 'postgres',
    DATABASE_URL: database.url,
    SUPABASE_URL: 'http://127.0.0.1:9',
    DEVICE_SECRET_PEPPER: 'test-pepper-0123456789abcdef0123456789abcdef',
    LOG_LEVEL: 'warn',
    ...env,
  };
}

/**
 * Slow and idle clients cost little and end soon: thousands of connections that never finish a request
 * are closed by the header, body and idle timeouts while the gateway keeps answering, an unauthenticated
 * body is refused before it is read, and SIGTERM does not wait for a client that sends nothing.
 */
describe('slow and idle clients, against the gateway as a process', () => {
  let database: TestDatabase;
  const processes: ManagedProcess[] = [];
  const connections: RawConnection[] = [];

  async function spawnGateway(
    env: Record<string, string>,
  ): Promise<{ gateway: ManagedProcess; port: number }> {
    const port = await findFreePort();
    const gateway = new ManagedProcess(process.execPath, [BUILT_MAIN], {
      env: gatewayEnv(port, database, env),
      cwd: ROOT,
    });
    processes.push(gateway);
    await eventually(
      'the gateway is ready',
      () => httpGet(`http://127.0.0.1:${port}/health/ready`),
      (result) => result.status === 200,
      { timeoutMs: 30_000, intervalMs: 100 },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${gateway.output()}`);
    });
    return { gateway, port };
  }

  async function open(port: number, data: string, count: number): Promise<RawConnection[]> {
    const opened = await openRawConnections(port, data, count);
    connections.push(...opened);
    return opened;
  }

  beforeAll(async () => {
    if (!existsSync(BUILT_MAIN)) throw new Error(`${BUILT_MAIN} is missing: run \`npm run build\``);
    database = await createTestDatabase();
  });

  afterAll(async () => {
    for (const connection of connections) connection.socket.destroy();
    await Promise.all(processes.map((child) => child.stop('SIGKILL')));
    await database?.drop();
  });

  it('closes thousands of incomplete and idle connections within their timeouts, live all along', async () => {
    const { gateway, port } = await spawnGateway({
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
    });
    const silent = await open(port, '', PER_KIND);
    const slowHeaders = await open(port, partialHeaders, PER_KIND);
    const idle = await open(port, 'GET /health/live HTTP/1.1\r\nHost: gateway\r\n\r\n', PER_KIND);
    const unauthenticated = await open(port, unauthenticatedPartialBody, PER_KIND);

    // While all of them are open (none can have timed out yet), the process still answers.
    const live = await httpGet(`http://127.0.0.1:${port}/health/live`);
    expect(live.status).toBe(200);

    const [silentMs, slowHeadersMs, unauthenticatedMs] = await Promise.all(
      [silent, slowHeaders, unauthenticated].map(async (group) =>
        Math.max(...(await Promise.all(group.map((connection) => connection.closed)))),
      ),
    );
    // Idle from the moment its response arrived.
    const idleMs = Math.max(
      ...(await Promise.all(
        idle.map(async (connection) => (await connection.closed) - (connection.firstByteMs() ?? 0)),
      )),
    );
    expect(silentMs).toBeLessThan(HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS);
    expect(slowHeadersMs).toBeLessThan(HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS);
    expect(idleMs).toBeLessThan(IDLE_TIMEOUT_MS + TIMEOUT_SLACK_MS);
    // Refused before the body is read: a 401, and the connection closed, long before any timeout.
    expect(unauthenticatedMs).toBeLessThan(REQUEST_TIMEOUT_MS);
    expect(new Set(unauthenticated.map((connection) => connection.received().split('\r\n')[0]))).toEqual(
      new Set(['HTTP/1.1 401 Unauthorized']),
    );
    // A timed-out request is told so, as problem+json.
    expect(slowHeaders[0]?.received()).toMatch(
      /^HTTP\/1\.1 408 .*application\/problem\+json.*request_timeout/s,
    );
    expect((await httpGet(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
    expect(gateway.running).toBe(true);
  }, 60_000);

  it('exits 0 on SIGTERM within its grace while clients hold requests open', async () => {
    const graceMs = 5_000;
    const { gateway, port } = await spawnGateway({
      // Long enough that only the shutdown can end these connections.
      HTTP_HEADERS_TIMEOUT_MS: '60000',
      HTTP_REQUEST_TIMEOUT_MS: '60000',
      HTTP_IDLE_TIMEOUT_MS: '60000',
      SHUTDOWN_GRACE_MS: String(graceMs),
    });
    await open(port, partialHeaders, 200);
    await open(port, '', 200);

    const signalledAt = Date.now();
    gateway.signal('SIGTERM');
    const exit = await gateway.waitForExit(graceMs + 5_000);

    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(graceMs + 500);
    expect(gateway.stdout).not.toContain('Shutdown took longer');
  }, 60_000);
});

describe('slow clients and the connection cap, on a running instance', () => {
  const MAX_CONNECTIONS = 20;
  let database: TestDatabase;
  let gateway: GatewayInstance;
  let capped: GatewayInstance;
  let port: number;
  let deviceAuthorization: string;
  let deviceCredentials: { deviceId: string; secret: string };
  const sockets = new SocketClients();
  const connections: RawConnection[] = [];

  const customer = customerPrincipal();

  beforeAll(async () => {
    database = await createTestDatabase();
    gateway = await startGatewayInstance(
      testConfig({
        DATA_BACKEND: 'postgres',
        DATABASE_URL: database.url,
        HTTP_HEADERS_TIMEOUT_MS: '500',
        HTTP_REQUEST_TIMEOUT_MS: '1000',
        HTTP_IDLE_TIMEOUT_MS: '500',
      }),
    );
    // Timeouts long enough that only the cap can end the connections the test holds.
    capped = await startGatewayInstance(
      testConfig({
        DATA_BACKEND: 'postgres',
        DATABASE_URL: database.url,
        HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
      }),
    );
    port = Number(new URL(gateway.url).port);
    const created = await gateway.app.get(DevicesService).create(customer, { name: 'slow link pi' });
    deviceCredentials = created.credentials;
    deviceAuthorization = Buffer.from(
      `${created.credentials.deviceId}:${created.credentials.secret}`,
    ).toString('base64');
  });

  afterAll(async () => {
    for (const connection of connections) connection.socket.destroy();
    sockets.closeAll();
    await gateway?.close();
    await capped?.close();
    await database?.drop();
  });

  it('cuts off an authenticated client that stops sending its body, with a 408 problem', async () => {
    const connection = await openRawConnection(
      port,
      `POST /v1/agent/register HTTP/1.1\r\nHost: gateway\r\nAuthorization: Basic ${deviceAuthorization}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"agentVersion":"1',
    );
    connections.push(connection);

    expect(await connection.closed).toBeLessThan(1_000 + TIMEOUT_SLACK_MS);
    expect(connection.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('keeps a device socket open past the request timeouts', async () => {
    const agent = await sockets.connectAgent(gateway.url, deviceCredentials);
    // Twice the request timeout: the only way to show that nothing cut the socket is to wait that long.
    await sleep(2_000);

    expect(agent.connected).toBe(true);
    expect(await ask(agent, 'heartbeat', { uptimeSec: 1 })).toHaveProperty('serverTime');
    agent.disconnect();
  });

  it('refuses connections past HTTP_MAX_CONNECTIONS with a 503 problem, and recovers when they close', async () => {
    const held = await openRawConnections(Number(new URL(capped.url).port), '', MAX_CONNECTIONS);
    connections.push(...held);

    const refused = await httpGet(`${capped.url}/health/live`);
    expect(refused.status).toBe(503);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body)).toMatchObject({ status: 503, code: 'service_unavailable' });

    for (const connection of held) connection.socket.destroy();
    await Promise.all(held.map((connection) => connection.closed));
    const live = await eventually(
      'a connection is accepted again',
      () => httpGet(`${capped.url}/health/live`),
      (result) => result.status === 200,
    );
    expect(live.status).toBe(200);
  });
});

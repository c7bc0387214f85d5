import { randomBytes, randomUUID } from 'node:crypto';
import { createDevToken } from '../../src/auth/dev-token';
import { COMMAND_CATALOGUE, COMMAND_TYPES } from '../../src/sessions/commands/command-catalogue';
import { type CommandResponse } from '../../src/sessions/commands/dto/command.response';
import {
  type SessionResponse,
  type SessionWithCommandsResponse,
} from '../../src/sessions/dto/session.response';
import { basic, bearer, request } from '../support/gateway-instance';
import { startInProcessApp } from '../support/in-process-app';
import { startRealtimeCluster } from '../support/realtime-cluster';

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { field: string; message: string }[];
}

/** A command, or the problem that came instead (its HTTP status is the response's). */
type CommandAnswer = CommandResponse & Partial<Omit<Problem, 'status'>>;

interface CreatedDevice {
  device: { id: string };
  credentials: { deviceId: string; secret: string };
}

type Backend = 'supabase' | 'postgres' | 'embedded';

const SERVICE_KEY = randomBytes(32).toString('base64url');

/** Every diagnostic type: what the reference agent registers. */
const DIAGNOSTICS = COMMAND_TYPES.filter((type) => COMMAND_CATALOGUE[type].risk === 'diagnostic');

/**
 * The gateways of one backend: two instances sharing real Redis and one real database (PostgREST in
 * front of it for supabase, a pg pool for postgres), or one embedded gateway (PGlite, memory cache).
 */
interface Gateways {
  urls: string[];
  tokenFor(customerId: string, admin?: boolean): Promise<string>;
  close(): Promise<void>;
}

async function startGateways(backend: Backend): Promise<Gateways> {
  const env = { SERVICE_KEYS: `planner:${SERVICE_KEY}`, COMMAND_EXPIRY_SEC: '600' };
  if (backend === 'embedded') {
    const gateway = await startInProcessApp({ env: { LOG_LEVEL: 'silent', ...env } });
    await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    const address = gateway.app.getHttpServer().address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    return {
      urls: [`http://127.0.0.1:${address.port}`],
      tokenFor: (customerId, admin = false) => createDevToken(gateway.dataDir, { sub: customerId, admin }),
      close: () => gateway.close(),
    };
  }
  const cluster = await startRealtimeCluster(`commands-${backend}`, 2, (stack) => ({
    ...env,
    ...(backend === 'postgres' ? { DATA_BACKEND: 'postgres', DATABASE_URL: stack.database.url } : {}),
  }));
  return {
    urls: cluster.instances.map((instance) => instance.url),
    tokenFor: async (customerId, admin = false) =>
      (
        await cluster.stack.mintCustomerToken({
          customerId,
          ...(admin ? { appMetadata: { provider: 'email', role: 'admin' } } : {}),
        })
      ).accessToken,
    close: () => cluster.close(),
  };
}

/**
 * The customer API of commands end to end (docs/guide.md#diagnostic-sessions, #principals-and-authentication, #commands; issue 11 items 2, 3, 9), on every data
 * backend, over real HTTP. No agent is connected: a command that nothing refuses waits `queued`, which is
 * what the delivery engine does for a device that is offline.
 */
describe.each<Backend>(['supabase', 'postgres', 'embedded'])('commands on %s', (backend) => {
  let gateways: Gateways;
  let a: string;
  let b: string;
  const customerAId = randomUUID();
  let customerA: string;
  let customerB: string;
  let admin: string;

  beforeAll(async () => {
    gateways = await startGateways(backend);
    a = gateways.urls[0]!;
    b = gateways.urls.at(-1)!;
    customerA = await gateways.tokenFor(customerAId);
    customerB = await gateways.tokenFor(randomUUID());
    admin = await gateways.tokenFor(randomUUID(), true);
  }, 90_000);

  afterAll(async () => {
    await gateways?.close();
  });

  /** A device of customer A, registered by its agent with `capabilities`, and an open session on it. */
  async function openSessionOnDevice(capabilities: readonly string[] = DIAGNOSTICS) {
    const created = await request<CreatedDevice>(`${a}/v1/devices`, {
      method: 'POST',
      authorization: bearer(customerA),
      body: { name: 'pi' },
    });
    expect(created.status).toBe(201);
    const { deviceId, secret } = created.body.credentials;
    const registered = await request(`${b}/v1/agent/register`, {
      method: 'POST',
      authorization: basic(deviceId, secret),
      body: { agentVersion: '1.0.0', capabilities },
    });
    expect(registered.status).toBe(200);
    const opened = await request<SessionResponse>(`${a}/v1/devices/${deviceId}/sessions`, {
      method: 'POST',
      authorization: bearer(customerA),
      body: {},
    });
    expect(opened.status).toBe(201);
    return { deviceId, sessionId: opened.body.id };
  }

  function issue(
    url: string,
    sessionId: string,
    body: unknown,
    options: { token?: string; key?: string; query?: string } = {},
  ) {
    return request<CommandAnswer>(`${url}/v1/sessions/${sessionId}/commands${options.query ?? ''}`, {
      method: 'POST',
      authorization: bearer(options.token ?? customerA),
      body,
      headers: options.key === undefined ? {} : { 'idempotency-key': options.key },
    });
  }

  function getCommand(url: string, commandId: string, authorization = bearer(customerA)) {
    return request<CommandAnswer>(`${url}/v1/commands/${commandId}`, { authorization });
  }

  function cancel(url: string, commandId: string, token = customerA) {
    return request<CommandAnswer>(`${url}/v1/commands/${commandId}/cancel`, {
      method: 'POST',
      authorization: bearer(token),
    });
  }

  function closeSession(url: string, sessionId: string, token = customerA) {
    return request<SessionResponse & Problem>(`${url}/v1/sessions/${sessionId}/close`, {
      method: 'POST',
      authorization: bearer(token),
    });
  }

  async function commandsOf(sessionId: string): Promise<CommandResponse[]> {
    const read = await request<SessionWithCommandsResponse>(`${a}/v1/sessions/${sessionId}`, {
      authorization: bearer(customerA),
    });
    expect(read.status).toBe(200);
    return read.body.commands;
  }

  const ping = (host = 'example.com') => ({ type: 'ping', params: { host, count: 3 } });

  it('queues a diagnostic (202), reads it on the other instance, and lists it in its session', async () => {
    const { deviceId, sessionId } = await openSessionOnDevice();

    const issued = await issue(a, sessionId, { ...ping(), timeoutSec: 20 });

    expect(issued.status).toBe(202);
    expect(issued.body).toEqual({
      id: expect.any(String) as string,
      sessionId,
      deviceId,
      type: 'ping',
      params: { host: 'example.com', count: 3 },
      status: 'queued',
      attempt: 1,
      timeoutSec: 20,
      expiresAt: expect.any(String) as string,
      progress: null,
      output: null,
      error: null,
      issuedBy: `customer:${customerAId}`,
      createdAt: expect.any(String) as string,
      sentAt: null,
      deliveredAt: null,
      startedAt: null,
      finishedAt: null,
      revision: 1,
    } satisfies CommandResponse);
    expect(Date.parse(issued.body.expiresAt) - Date.parse(issued.body.createdAt)).toBe(600_000);
    expect(issued.headers.get('idempotent-replayed')).toBeNull();
    expect(await getCommand(b, issued.body.id)).toMatchObject({ status: 200, body: issued.body });
    expect(await commandsOf(sessionId)).toEqual([issued.body]);
  });

  it('refuses every invalid command with a 4xx problem naming the field at fault, and stores none', async () => {
    const { sessionId } = await openSessionOnDevice(['ping', 'http_check', 'dns_lookup']);
    const refusals: [unknown, { query?: string; key?: string }, number, string, string[] | undefined][] = [
      [{ type: 'nmap', params: {} }, {}, 400, 'validation_failed', ['type']],
      [ping('example.com; rm -rf /'), {}, 400, 'validation_failed', ['params.host']],
      [ping('$(reboot)'), {}, 400, 'validation_failed', ['params.host']],
      [
        { type: 'ping', params: { host: 'example.com', count: 21 } },
        {},
        400,
        'validation_failed',
        ['params.count'],
      ],
      [
        { type: 'ping', params: { host: 'example.com', count: 0 } },
        {},
        400,
        'validation_failed',
        ['params.count'],
      ],
      [
        { type: 'http_check', params: { url: 'ftp://example.com/', method: 'GET' } },
        {},
        400,
        'validation_failed',
        ['params.url'],
      ],
      [
        { type: 'http_check', params: { url: 'http://', method: 'GET' } },
        {},
        400,
        'validation_failed',
        ['params.url'],
      ],
      [
        { type: 'http_check', params: { url: 'https://example.com', method: 'POST' } },
        {},
        400,
        'validation_failed',
        ['params.method'],
      ],
      [
        { type: 'ping', params: { host: 'example.com', count: 1, flags: '-f' } },
        {},
        400,
        'validation_failed',
        ['params.flags'],
      ],
      [{ ...ping(), priority: 'high' }, {}, 400, 'validation_failed', ['priority']],
      [{ type: 'ping' }, {}, 400, 'validation_failed', ['params']],
      [{ type: 'ping', params: 'example.com' }, {}, 400, 'validation_failed', ['params']],
      [{ ...ping(), timeoutSec: 121 }, {}, 400, 'validation_failed', ['timeoutSec']],
      [{ ...ping(), timeoutSec: 0 }, {}, 400, 'validation_failed', ['timeoutSec']],
      [ping(), { query: '?waitSec=31' }, 400, 'validation_failed', ['waitSec']],
      [ping(), { query: '?waitSec=soon' }, 400, 'validation_failed', ['waitSec']],
      [ping(), { key: 'k'.repeat(256) }, 400, 'validation_failed', ['Idempotency-Key']],
      [['ping'], {}, 400, 'validation_failed', ['payload']],
      [{ type: 'reboot', params: {} }, {}, 422, 'remediation_requires_plan', undefined],
      [
        { type: 'set_dns_servers', params: { interface: 'eth0', servers: ['1.1.1.1'] } },
        {},
        422,
        'remediation_requires_plan',
        undefined,
      ],
      [
        { type: 'traceroute', params: { host: 'example.com', maxHops: 5 } },
        {},
        422,
        'capability_missing',
        ['type'],
      ],
    ];

    for (const [body, options, status, code, fields] of refusals) {
      const answer = await issue(b, sessionId, body, options);
      expect({ body, status: answer.status, code: answer.body.code }).toEqual({ body, status, code });
      expect(answer.contentType).toContain('application/problem+json');
      // One field may break several rules (`waitSec=soon` is neither an integer nor within 0..30).
      const named = answer.body.errors && [...new Set(answer.body.errors.map((error) => error.field))];
      expect({ body, fields: named }).toEqual({ body, fields });
    }
    const lacking = await issue(a, sessionId, {
      type: 'traceroute',
      params: { host: 'example.com', maxHops: 5 },
    });
    expect(lacking.body.detail).toContain('traceroute');
    expect(await commandsOf(sessionId)).toEqual([]);
  });

  it("answers customer B 404 on every session and command route of customer A's", async () => {
    const { sessionId } = await openSessionOnDevice();
    const command = (await issue(a, sessionId, ping())).body;

    const answers = [
      await request<Problem>(`${b}/v1/sessions/${sessionId}`, { authorization: bearer(customerB) }),
      await closeSession(b, sessionId, customerB),
      await issue(b, sessionId, ping(), { token: customerB }),
      await issue(b, sessionId, ping(), { token: customerB, key: 'guess' }),
      await getCommand(b, command.id, bearer(customerB)),
      await cancel(b, command.id, customerB),
    ];

    expect(answers.map((answer) => [answer.status, answer.body.code])).toEqual([
      [404, 'session_not_found'],
      [404, 'session_not_found'],
      [404, 'session_not_found'],
      [404, 'session_not_found'],
      [404, 'command_not_found'],
      [404, 'command_not_found'],
    ]);
    // As for ids that do not exist at all.
    expect((await getCommand(b, randomUUID(), bearer(customerB))).status).toBe(404);
    expect((await getCommand(b, 'not-a-command', bearer(customerB))).status).toBe(404);
    expect(await commandsOf(sessionId)).toEqual([command]);
  });

  it('lets an admin and a backend service read a command, and an admin write only in its own sessions', async () => {
    const { sessionId } = await openSessionOnDevice();
    const command = (await issue(a, sessionId, ping())).body;

    expect((await getCommand(b, command.id, bearer(admin))).body).toEqual(command);
    expect((await getCommand(b, command.id, bearer(SERVICE_KEY))).body).toEqual(command);
    const adminIssue = await issue(b, sessionId, ping(), { token: admin });
    const adminCancel = await cancel(b, command.id, admin);
    expect([adminIssue.status, adminIssue.body.code]).toEqual([403, 'forbidden']);
    expect([adminCancel.status, adminCancel.body.code]).toEqual([403, 'forbidden']);
    const serviceIssue = await request(`${a}/v1/sessions/${sessionId}/commands`, {
      method: 'POST',
      authorization: bearer(SERVICE_KEY),
      body: ping(),
    });
    expect(serviceIssue.status).toBe(401);
    expect(await commandsOf(sessionId)).toEqual([command]);
  });

  it('returns the same command for a retry with its key, makes one of concurrent ones, and refuses another body (409)', async () => {
    const { sessionId } = await openSessionOnDevice();
    const key = randomUUID();

    const first = await issue(a, sessionId, ping(), { key });
    const retry = await issue(
      b,
      sessionId,
      { type: 'ping', params: { count: 3, host: 'example.com' } },
      { key },
    );
    expect(first.status).toBe(202);
    expect([retry.status, retry.body]).toEqual([202, first.body]);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');

    const other = await issue(b, sessionId, ping('example.org'), { key });
    expect([other.status, other.body.code]).toEqual([409, 'idempotency_key_reused']);

    const concurrentKey = randomUUID();
    const concurrent = await Promise.all(
      [a, b, a, b, a, b].map((url) =>
        issue(url, sessionId, ping('concurrent.example'), { key: concurrentKey }),
      ),
    );
    expect(concurrent.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202, 202]);
    expect(new Set(concurrent.map((answer) => answer.body.id)).size).toBe(1);
    expect(concurrent.filter((answer) => answer.headers.get('idempotent-replayed') === null)).toHaveLength(1);

    expect((await commandsOf(sessionId)).map((command) => command.id)).toEqual([
      first.body.id,
      concurrent[0]!.body.id,
    ]);
  });

  it('cancels a command once (200), then answers 409 command_final', async () => {
    const { sessionId } = await openSessionOnDevice();
    const command = (await issue(a, sessionId, ping())).body;

    const cancelled = await cancel(b, command.id);
    const again = await cancel(a, command.id);

    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: command.id, status: 'cancelled', revision: 2 });
    expect(cancelled.body.finishedAt).not.toBeNull();
    expect([again.status, again.body.code]).toEqual([409, 'command_final']);
    expect(await getCommand(b, command.id)).toMatchObject({ body: cancelled.body });
    // A retry with the key of a final command answers 200, as the command is final now.
    const key = randomUUID();
    const keyed = (await issue(a, sessionId, ping(), { key })).body;
    await cancel(a, keyed.id);
    const replay = await issue(b, sessionId, ping(), { key });
    expect([replay.status, replay.body.status]).toEqual([200, 'cancelled']);
  });

  it('closes a session with its open commands cancelled, and then takes no command (409)', async () => {
    const { sessionId } = await openSessionOnDevice();
    const key = randomUUID();
    const queued = [
      (await issue(a, sessionId, ping(), { key })).body,
      (await issue(b, sessionId, ping('b.example'))).body,
    ];

    const closed = await closeSession(b, sessionId);

    expect(closed.status).toBe(200);
    const after = await commandsOf(sessionId);
    expect(after.map((command) => [command.id, command.status])).toEqual(
      queued.map((c) => [c.id, 'cancelled']),
    );
    const late = await issue(a, sessionId, ping('late.example'));
    expect([late.status, late.body.code]).toEqual([409, 'session_closed']);
    // The retry of a command the session took before it closed still finds it.
    const replay = await issue(a, sessionId, ping(), { key });
    expect([replay.status, replay.body.id, replay.body.status]).toEqual([200, queued[0]!.id, 'cancelled']);
    expect(await commandsOf(sessionId)).toHaveLength(2);
  });

  it('cancels every command issued concurrently with the close, on either instance', async () => {
    const { sessionId } = await openSessionOnDevice();

    const [closed, ...issued] = await Promise.all([
      closeSession(a, sessionId),
      ...[a, b, a, b, a, b].map((url, index) => issue(url, sessionId, ping(`race-${index}.example`))),
    ]);

    expect(closed.status).toBe(200);
    for (const answer of issued) expect([202, 409]).toContain(answer.status);
    const stored = await commandsOf(sessionId);
    expect(stored.map((command) => command.id).sort()).toEqual(
      issued
        .filter((answer) => answer.status === 202)
        .map((answer) => answer.body.id)
        .sort(),
    );
    expect(stored.filter((command) => command.status !== 'cancelled')).toEqual([]);
  });

  it("cancels a deleted device's commands with its session", async () => {
    const { deviceId, sessionId } = await openSessionOnDevice();
    const queued = (await issue(a, sessionId, ping())).body;

    const deleted = await request(`${b}/v1/devices/${deviceId}`, {
      method: 'DELETE',
      authorization: bearer(customerA),
    });

    expect(deleted.status).toBe(204);
    expect(await getCommand(a, queued.id)).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    const late = await issue(a, sessionId, ping());
    expect([late.status, late.body.code]).toEqual([409, 'session_closed']);
  });

  it('waits waitSec for an offline device, then answers 202 with the command still queued', async () => {
    const { sessionId } = await openSessionOnDevice();
    const started = Date.now();

    const answer = await issue(b, sessionId, ping(), { query: '?waitSec=1' });

    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect([answer.status, answer.body.status]).toEqual([202, 'queued']);
    expect(await getCommand(a, answer.body.id)).toMatchObject({ body: { status: 'queued', revision: 1 } });
  });
});

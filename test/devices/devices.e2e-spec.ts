import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { type DeviceResponse } from '../../src/devices/dto/device.response';
import { eventually } from '../support/eventually';
import {
  basic,
  bearer,
  type GatewayInstance,
  request,
  startGatewayInstance,
} from '../support/gateway-instance';
import { type SupabaseStack, startSupabaseStack } from '../support/supabase-stack';
import { queryDatabase } from '../support/test-database';

interface Created {
  device: DeviceResponse;
  credentials: { deviceId: string; secret: string };
}

const HEARTBEAT = {
  uptimeSec: 42,
  agentVersion: '1.2.3',
  metrics: { cpuPct: 12.5, memPct: 40, diskPct: 55, tempC: 48.3, load1: 0.42 },
  network: { gatewayReachable: true, dnsOk: true, latencyMs: 12, publicIp: '203.0.113.7' },
};

/**
 * Devices end to end, DATA_BACKEND=supabase (real PostgREST on real PostgreSQL) and CACHE_BACKEND=redis
 * (real Redis), two gateway instances sharing both: docs/guide.md#principals-and-authentication, #devices-and-presence.
 */
describe('devices across two instances', () => {
  let stack: SupabaseStack;
  let a: GatewayInstance;
  let b: GatewayInstance;
  let customerA: string;
  let customerB: string;
  let admin: string;
  const issuedSecrets: string[] = [];
  const issuedTokens: string[] = [];

  beforeAll(async () => {
    stack = await startSupabaseStack();
    const env = {
      CACHE_BACKEND: 'redis',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: `test:devices:${randomUUID()}:`,
      HEARTBEAT_INTERVAL_SEC: '1',
      HEARTBEAT_PERSIST_INTERVAL_SEC: '1',
      PRESENCE_SWEEP_INTERVAL_MS: '100',
      LOG_LEVEL: 'debug',
    };
    a = await startGatewayInstance(stack.appConfig(env));
    b = await startGatewayInstance(stack.appConfig(env));
    customerA = (await stack.mintCustomerToken()).accessToken;
    customerB = (await stack.mintCustomerToken()).accessToken;
    admin = (await stack.mintCustomerToken({ appMetadata: { provider: 'email', role: 'admin' } }))
      .accessToken;
    issuedTokens.push(customerA, customerB, admin);
  }, 60_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await stack?.stop();
  });

  async function createDevice(
    token: string,
    body: Record<string, unknown> = { name: 'pi' },
  ): Promise<Created> {
    const response = await request<Created>(`${a.url}/v1/devices`, {
      method: 'POST',
      authorization: bearer(token),
      body,
    });
    expect(response.status).toBe(201);
    issuedSecrets.push(response.body.credentials.secret);
    return response.body;
  }

  async function getDevice(instance: GatewayInstance, id: string, token = customerA) {
    return request<DeviceResponse>(`${instance.url}/v1/devices/${id}`, { authorization: bearer(token) });
  }

  it('creates a device with credentials shown once and stores only a keyed hash', async () => {
    const created = await createDevice(customerA, { name: 'office-pi', serial: `SN-${randomUUID()}` });
    expect(created.device).toMatchObject({
      name: 'office-pi',
      status: 'provisioned',
      presence: { state: 'unknown' },
    });
    expect(created.credentials.deviceId).toBe(created.device.id);
    expect(Buffer.from(created.credentials.secret, 'base64url').length).toBeGreaterThanOrEqual(32);
    expect(JSON.stringify(created.device)).not.toContain(created.credentials.secret);
    const { rows } = await queryDatabase<{ secret_hash: string }>(
      stack.database.url,
      'select secret_hash from public.devices where id = $1',
      [created.device.id],
    );
    expect(rows[0]?.secret_hash).toMatch(/^hmac-sha256\$/);
    expect(rows[0]?.secret_hash).not.toContain(created.credentials.secret);
  });

  it('refuses a second device with the same serial for the same customer (409)', async () => {
    const serial = `SN-${randomUUID()}`;
    await createDevice(customerA, { name: 'one', serial });
    const duplicate = await request(`${a.url}/v1/devices`, {
      method: 'POST',
      authorization: bearer(customerA),
      body: { name: 'two', serial },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ code: 'device_serial_taken' });
  });

  it('registers idempotently, heartbeats, and goes online, stale, offline on both instances', async () => {
    const { credentials } = await createDevice(customerA);
    const auth = basic(credentials.deviceId, credentials.secret);
    const registration = {
      agentVersion: '1.2.3',
      capabilities: ['ping', 'dns_lookup'],
      hardware: { model: 'Pi 4' },
    };

    const first = await request(`${a.url}/v1/agent/register`, {
      method: 'POST',
      authorization: auth,
      body: registration,
    });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      deviceId: credentials.deviceId,
      heartbeatIntervalSec: 1,
      commandAckTimeoutSec: 30,
      realtime: { namespace: '/agent', path: '/socket.io' },
    });
    const again = await request(`${b.url}/v1/agent/register`, {
      method: 'POST',
      authorization: auth,
      body: registration,
    });
    expect(again.status).toBe(200);

    const beat = await request(`${b.url}/v1/agent/heartbeat`, {
      method: 'POST',
      authorization: auth,
      body: HEARTBEAT,
    });
    expect(beat.status).toBe(200);
    expect(beat.body).toMatchObject({ nextHeartbeatSec: 1, pendingCommands: 0 });
    expect(Date.parse((beat.body as { serverTime: string }).serverTime)).not.toBeNaN();

    const onA = await getDevice(a, credentials.deviceId);
    expect(onA.body).toMatchObject({
      status: 'active',
      agentVersion: '1.2.3',
      capabilities: ['ping', 'dns_lookup'],
      hardware: { model: 'Pi 4' },
      presence: { state: 'online', lastHeartbeat: HEARTBEAT },
    });

    for (const state of ['stale', 'offline'] as const) {
      await eventually(
        `device reads ${state} on both instances`,
        async () => [
          (await getDevice(a, credentials.deviceId)).body,
          (await getDevice(b, credentials.deviceId)).body,
        ],
        (views) => views.every((view) => view.presence.state === state),
        { timeoutMs: 6000 },
      );
    }

    // Each transition was made once, by one instance, and written to the database.
    const transitions = [...a.transitions, ...b.transitions]
      .filter((transition) => transition.deviceId === credentials.deviceId)
      .map((transition) => transition.to);
    await eventually(
      'the offline transition is recorded',
      () =>
        Promise.resolve(
          [...a.transitions, ...b.transitions].filter((t) => t.deviceId === credentials.deviceId),
        ),
      (all) => all.some((transition) => transition.to === 'offline'),
    );
    expect(transitions.filter((to) => to === 'online')).toHaveLength(1);
    expect(transitions.filter((to) => to === 'stale')).toHaveLength(1);
    await eventually(
      'the database holds the offline state and the last heartbeat',
      async () =>
        (
          await queryDatabase<{ presence_state: string; last_heartbeat: unknown }>(
            stack.database.url,
            'select presence_state, last_heartbeat from public.devices where id = $1',
            [credentials.deviceId],
          )
        ).rows[0],
      (row) => row?.presence_state === 'offline' && isDeepStrictEqual(row.last_heartbeat, HEARTBEAT),
    );
    const offlineList = await request<{ items: DeviceResponse[] }>(
      `${b.url}/v1/devices?state=offline&limit=100`,
      {
        authorization: bearer(customerA),
      },
    );
    expect(offlineList.body.items.map((device) => device.id)).toContain(credentials.deviceId);

    // A heartbeat brings it back online.
    await request(`${a.url}/v1/agent/heartbeat`, { method: 'POST', authorization: auth, body: HEARTBEAT });
    expect((await getDevice(b, credentials.deviceId)).body.presence.state).toBe('online');
  });

  it('audits creation, registration and revocation', async () => {
    const { credentials } = await createDevice(customerA);
    const auth = basic(credentials.deviceId, credentials.secret);
    await request(`${a.url}/v1/agent/register`, {
      method: 'POST',
      authorization: auth,
      body: { agentVersion: '1', capabilities: [] },
    });
    await request(`${a.url}/v1/agent/register`, {
      method: 'POST',
      authorization: auth,
      body: { agentVersion: '1', capabilities: [] },
    });
    await request(`${a.url}/v1/devices/${credentials.deviceId}`, {
      method: 'DELETE',
      authorization: bearer(customerA),
    });
    const { rows } = await queryDatabase<{ action: string; actor: string }>(
      stack.database.url,
      "select action, actor from public.audit_events where subject_type = 'device' and subject_id = $1 order by id",
      [credentials.deviceId],
    );
    expect(rows.map((row) => row.action)).toEqual(['device.created', 'device.registered', 'device.revoked']);
    expect(rows[1]?.actor).toBe(`device:${credentials.deviceId}`);
  });

  it('refuses a revoked device on the other instance within a second', async () => {
    const { credentials } = await createDevice(customerA);
    const auth = basic(credentials.deviceId, credentials.secret);
    // Instance B verifies (and caches) the credentials first.
    expect(
      (await request(`${b.url}/v1/agent/heartbeat`, { method: 'POST', authorization: auth, body: HEARTBEAT }))
        .status,
    ).toBe(200);

    const deleted = await request(`${a.url}/v1/devices/${credentials.deviceId}`, {
      method: 'DELETE',
      authorization: bearer(customerA),
    });
    expect(deleted.status).toBe(204);
    const revokedAt = Date.now();
    await eventually(
      'instance B refuses the revoked device',
      async () =>
        (
          await request(`${b.url}/v1/agent/heartbeat`, {
            method: 'POST',
            authorization: auth,
            body: HEARTBEAT,
          })
        ).status,
      (status) => status === 401,
      { timeoutMs: 1000, intervalMs: 20 },
    );
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect((await getDevice(b, credentials.deviceId)).status).toBe(404);
  });

  it('shows a customer only its own devices: 404 on every route of another customer', async () => {
    const { device } = await createDevice(customerA, { name: 'private' });
    const paths = [
      ['GET', `/v1/devices/${device.id}`],
      ['PATCH', `/v1/devices/${device.id}`],
      ['DELETE', `/v1/devices/${device.id}`],
    ] as const;
    for (const [method, path] of paths) {
      const response = await request(`${b.url}${path}`, {
        method,
        authorization: bearer(customerB),
        body: method === 'PATCH' ? { name: 'stolen' } : undefined,
      });
      expect({ method, status: response.status, code: (response.body as { code?: string }).code }).toEqual({
        method,
        status: 404,
        code: 'device_not_found',
      });
    }
    const list = await request<{ items: DeviceResponse[] }>(`${b.url}/v1/devices?limit=100`, {
      authorization: bearer(customerB),
    });
    expect(list.body.items.map((item) => item.id)).not.toContain(device.id);
    expect((await getDevice(a, device.id)).body.name).toBe('private');
  });

  it('lets an admin read every device but change only its own', async () => {
    const { device } = await createDevice(customerA, { name: 'watched' });
    expect((await getDevice(b, device.id, admin)).status).toBe(200);
    const all = await request<{ items: DeviceResponse[] }>(`${b.url}/v1/devices?limit=100`, {
      authorization: bearer(admin),
    });
    expect(all.body.items.map((item) => item.id)).toContain(device.id);
    const rename = await request(`${b.url}/v1/devices/${device.id}`, {
      method: 'PATCH',
      authorization: bearer(admin),
      body: { name: 'renamed by admin' },
    });
    expect(rename.status).toBe(403);
    expect(rename.body).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('renames, lists page by page, and validates input', async () => {
    const token = (await stack.mintCustomerToken()).accessToken;
    issuedTokens.push(token);
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1)
      ids.push((await createDevice(token, { name: `pi-${index}` })).device.id);
    const renamed = await request<DeviceResponse>(`${a.url}/v1/devices/${ids[0]}`, {
      method: 'PATCH',
      authorization: bearer(token),
      body: { name: 'kitchen' },
    });
    expect(renamed.body.name).toBe('kitchen');

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page: { body: { items: DeviceResponse[]; nextCursor: string | null } } = await request(
        `${b.url}/v1/devices?limit=2${query}`,
        { authorization: bearer(token) },
      );
      seen.push(...page.body.items.map((item) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(ids);

    const invalid = await request(`${a.url}/v1/devices`, {
      method: 'POST',
      authorization: bearer(token),
      body: { name: '', owner: 'someone-else' },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.contentType).toContain('application/problem+json');
    expect(
      (invalid.body as { errors: { field: string }[] }).errors.map((error) => error.field).sort(),
    ).toEqual(['name', 'owner']);
    const badCursor = await request(`${a.url}/v1/devices?cursor=garbage`, { authorization: bearer(token) });
    expect(badCursor.status).toBe(400);
    const badState = await request(`${a.url}/v1/devices?state=sleeping`, { authorization: bearer(token) });
    expect(badState.status).toBe(400);
  });

  it('refuses malformed heartbeats with field errors and keeps the stored state', async () => {
    const { credentials } = await createDevice(customerA);
    const auth = basic(credentials.deviceId, credentials.secret);
    await request(`${a.url}/v1/agent/heartbeat`, { method: 'POST', authorization: auth, body: HEARTBEAT });
    const cases: [unknown, string][] = [
      [{ uptimeSec: -1 }, 'uptimeSec'],
      [{ uptimeSec: 'soon' }, 'uptimeSec'],
      [{ uptimeSec: 1, metrics: { cpuPct: 250 } }, 'metrics.cpuPct'],
      [{ uptimeSec: 1, network: { publicIp: 'not-an-ip' } }, 'network.publicIp'],
      [{ uptimeSec: 1, shell: 'rm -rf /' }, 'shell'],
      [{}, 'uptimeSec'],
    ];
    for (const [body, field] of cases) {
      const response = await request<{ errors: { field: string }[] }>(`${a.url}/v1/agent/heartbeat`, {
        method: 'POST',
        authorization: auth,
        body,
      });
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
      expect(response.body.errors.map((error) => error.field)).toContain(field);
    }
    const view = await getDevice(a, credentials.deviceId);
    expect(view.body.presence.lastHeartbeat).toEqual(HEARTBEAT);
  });

  it('refuses missing and garbled device credentials with 401', async () => {
    const { credentials } = await createDevice(customerA);
    const headers = [
      undefined,
      'Basic',
      'Basic !!!not-base64!!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Basic ${Buffer.from(`${credentials.deviceId}:`).toString('base64')}`,
      basic(credentials.deviceId, 'wrong-secret'),
      basic(randomUUID(), credentials.secret),
      basic('not-a-uuid', credentials.secret),
      bearer(customerA),
    ];
    for (const authorization of headers) {
      const response = await request(`${a.url}/v1/agent/heartbeat`, {
        method: 'POST',
        authorization,
        body: HEARTBEAT,
      });
      expect({ authorization, status: response.status }).toEqual({ authorization, status: 401 });
      expect(response.contentType).toContain('application/problem+json');
    }
  });

  it('never writes a device secret or an access token to the logs', () => {
    const logs = a.logs.text + b.logs.text;
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).toContain('Authentication refused');
    for (const secret of issuedSecrets) expect(logs).not.toContain(secret);
    for (const token of issuedTokens) expect(logs).not.toContain(token);
  });
});

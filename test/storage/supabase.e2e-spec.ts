import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { type DeviceRecord } from '../../src/devices/device';
import { startSupabaseStack, type SupabaseStack } from '../support/supabase-stack';
import { queryDatabase } from '../support/test-database';
import { openStorage } from './open-storage';
import { describeStorageContract, type StorageUnderTest } from './storage.contract';

let stack: SupabaseStack;

beforeAll(async () => {
  stack = await startSupabaseStack();
});

afterAll(async () => {
  await (stack as SupabaseStack | undefined)?.stop();
});

// The gateway's own supabase-js client (service role) → test front → real PostgREST → real PostgreSQL.
describeStorageContract('Supabase repositories through PostgREST (DATA_BACKEND=supabase)', () =>
  openStorage(stack.appConfig(), (text, params) => queryDatabase(stack.database.url, text, params)),
);

describe('row level security through PostgREST', () => {
  let storage: StorageUnderTest;
  const customerA = randomUUID();
  const customerB = randomUUID();
  let devicesOfA: DeviceRecord[];
  let deviceOfB: DeviceRecord;

  beforeAll(async () => {
    storage = await openStorage(stack.appConfig());
    const create = (customerId: string) =>
      storage.devices.create({
        customerId,
        name: 'Router',
        serial: null,
        secretHash: `hash-${randomUUID()}`,
      });
    devicesOfA = [await create(customerA), await create(customerA)];
    deviceOfB = await create(customerB);
  });

  afterAll(async () => {
    await (storage as StorageUnderTest | undefined)?.close();
  });

  /** A direct read of the data API, as a portal using supabase-js with the customer's session does. */
  async function readDevices(select: string, accessToken?: string) {
    const response = await fetch(`${stack.url}/rest/v1/devices?select=${select}&order=created_at`, {
      headers: accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` },
    });
    return { status: response.status, body: await response.json() };
  }

  const READABLE_COLUMNS = 'id,customer_id,name,status';

  it('shows a customer only its own devices, and the other customer only theirs', async () => {
    const tokenA = await stack.mintCustomerToken({ customerId: customerA });
    const tokenB = await stack.mintCustomerToken({ customerId: customerB });

    const seenByA = await readDevices(READABLE_COLUMNS, tokenA.accessToken);
    const seenByB = await readDevices(READABLE_COLUMNS, tokenB.accessToken);

    expect(seenByA.status).toBe(200);
    expect((seenByA.body as { id: string }[]).map((row) => row.id).sort()).toEqual(
      devicesOfA.map((device) => device.id).sort(),
    );
    expect(seenByB.body).toEqual([
      { id: deviceOfB.id, customer_id: customerB, name: 'Router', status: 'provisioned' },
    ]);
  });

  it('never lets a customer read the credential hash', async () => {
    const { accessToken } = await stack.mintCustomerToken({ customerId: customerA });

    const hashOnly = await readDevices('id,secret_hash', accessToken);
    const everyColumn = await readDevices('*', accessToken);

    for (const attempt of [hashOnly, everyColumn]) {
      expect(attempt.status).toBe(403);
      expect(attempt.body).toMatchObject({ code: '42501' });
    }
  });

  it('gives an anonymous caller nothing', async () => {
    const anonymous = await readDevices(READABLE_COLUMNS);

    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ code: '42501' });
  });

  it('lets neither a customer nor an anonymous caller write heartbeats through record_device_signs', async () => {
    const { accessToken } = await stack.mintCustomerToken({ customerId: customerA });
    const [own] = devicesOfA;
    const before = await storage.devices.findById(own!.id);
    const signs = [{ id: own!.id, seen_at: new Date().toISOString(), heartbeat: { forged: true } }];

    for (const headers of [{ authorization: `Bearer ${accessToken}` }, {}] as Record<string, string>[]) {
      const response = await fetch(`${stack.url}/rest/v1/rpc/record_device_signs`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ signs }),
      });
      expect([401, 403]).toContain(response.status);
      expect(await response.json()).toMatchObject({ code: '42501' });
    }
    await expect(storage.devices.findById(own!.id)).resolves.toEqual(before);
  });

  it('refuses a token signed with a key that is not the project’s, even with the right kid', async () => {
    const forger = await generateKeyPair('ES256', { extractable: true });
    const genuine = await stack.mintCustomerToken({ customerId: customerA });
    const [, payload] = genuine.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: stack.keys.accessTokenKeyId, typ: 'JWT' })
      .sign(forger.privateKey);
    // Sanity: the forger's key really differs from the published one.
    expect((await exportJWK(forger.publicKey)).x).not.toBe(stack.keys.publicJwks.keys[0]!.x);

    const attempt = await readDevices(READABLE_COLUMNS, forged);

    expect(attempt.status).toBe(401);
  });

  it("shows a customer only its own sessions and commands, and lets no customer call the gateway's functions", async () => {
    const sessionOfA = await storage.sessions.open({
      deviceId: devicesOfA[0]!.id,
      customerId: customerA,
      reason: null,
      openedBy: `customer:${customerA}`,
    });
    const sessionOfB = await storage.sessions.open({
      deviceId: deviceOfB.id,
      customerId: customerB,
      reason: null,
      openedBy: `customer:${customerB}`,
    });
    const { command } = await storage.commands.create({
      sessionId: sessionOfA.id,
      type: 'ping',
      params: { host: 'example.com', count: 1 },
      timeoutSec: 10,
      expiresInSec: 60,
      issuedBy: `customer:${customerA}`,
      planStep: null,
      idempotency: null,
    });
    const tokenA = await stack.mintCustomerToken({ customerId: customerA });
    const tokenB = await stack.mintCustomerToken({ customerId: customerB });
    const read = async (table: string, accessToken?: string) => {
      const response = await fetch(`${stack.url}/rest/v1/${table}?select=id`, {
        headers: accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` },
      });
      return { status: response.status, body: await response.json() };
    };

    expect(await read('diagnostic_sessions', tokenA.accessToken)).toEqual({
      status: 200,
      body: [{ id: sessionOfA.id }],
    });
    expect(await read('diagnostic_sessions', tokenB.accessToken)).toEqual({
      status: 200,
      body: [{ id: sessionOfB.id }],
    });
    expect(await read('commands', tokenA.accessToken)).toEqual({ status: 200, body: [{ id: command.id }] });
    expect(await read('commands', tokenB.accessToken)).toEqual({ status: 200, body: [] });
    expect((await read('commands')).status).toBe(401);

    // The functions write as the gateway; called with a customer's token (or none) they are refused.
    for (const accessToken of [tokenB.accessToken, undefined]) {
      const response = await fetch(`${stack.url}/rest/v1/rpc/claim_queued_commands`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` }),
        },
        body: JSON.stringify({ p_device_id: devicesOfA[0]!.id, p_max_in_flight: 5 }),
      });
      expect({ status: response.status, body: await response.json() }).toMatchObject({
        status: accessToken === undefined ? 401 : 403,
        body: { code: '42501' },
      });
    }
    await expect(storage.commands.findById(command.id)).resolves.toMatchObject({ status: 'queued' });
  });
});

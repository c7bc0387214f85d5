import { randomUUID } from 'node:crypto';
import { type InjectOptions, type LightMyRequestResponse } from 'fastify';
import { createDevToken } from '../../src/auth/dev-token';
import { type DeviceResponse } from '../../src/devices/dto/device.response';
import { type InProcessApp, startInProcessApp } from '../support/in-process-app';
import { type SupabaseStack, startSupabaseStack } from '../support/supabase-stack';

interface ProblemBody {
  status: number;
  code: string;
  detail: string;
  errors?: { field: string; message: string }[];
}

interface Created {
  device: DeviceResponse;
  credentials: { deviceId: string; secret: string };
}

const NUL = '\u0000';
const LONE_SURROGATE = '\ud83d';
/** Counted as 100 characters by validator.js (it skips variation selectors), 101 by PostgreSQL. */
const NAME_WITH_VARIATION_SELECTOR = `${'x'.repeat(100)}\ufe0f`;
const OBJECT_BUILT_INS = [
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'valueOf',
  '__defineGetter__',
  'isPrototypeOf',
];
const cursorFor = (createdAt: string): string =>
  Buffer.from(`${createdAt}|${randomUUID()}`, 'utf8').toString('base64url');

const BACKENDS = ['embedded', 'postgres', 'supabase'] as const;

/**
 * Input that validation once let through and the database refused (a 500) or silently altered, and other
 * hostile shapes, found by a black-box probe: each is now a clear 4xx problem, on every data backend, and
 * nothing stored changes.
 */
describe.each(BACKENDS)('hostile input on the %s backend', (backend) => {
  let gateway: InProcessApp;
  let stack: SupabaseStack | undefined;
  let customer: string;
  let device: Created;

  beforeAll(async () => {
    const env: Record<string, string> = { LOG_LEVEL: 'silent' };
    if (backend !== 'embedded') {
      stack = await startSupabaseStack();
      Object.assign(env, {
        SUPABASE_URL: stack.url,
        DEVICE_SECRET_PEPPER: 'test-pepper-0123456789abcdef0123456789abcdef',
        ...(backend === 'postgres'
          ? { DATA_BACKEND: 'postgres', DATABASE_URL: stack.database.url }
          : { DATA_BACKEND: 'supabase', SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey }),
      });
    }
    gateway = await startInProcessApp({ env });
    customer = `Bearer ${
      stack
        ? (await stack.mintCustomerToken()).accessToken
        : await createDevToken(gateway.dataDir, { sub: randomUUID() })
    }`;
    const response = await send({ method: 'POST', url: '/v1/devices', payload: { name: 'probe-pi' } });
    expect(response.statusCode).toBe(201);
    device = response.json<Created>();
  }, 60_000);

  afterAll(async () => {
    await (gateway as InProcessApp | undefined)?.close();
    await stack?.stop();
  });

  function send(options: InjectOptions): Promise<LightMyRequestResponse> {
    return gateway.app.inject({
      ...options,
      headers: { authorization: customer, ...options.headers },
    });
  }

  function asDevice(options: InjectOptions): Promise<LightMyRequestResponse> {
    const { deviceId, secret } = device.credentials;
    return send({
      ...options,
      headers: { authorization: `Basic ${Buffer.from(`${deviceId}:${secret}`).toString('base64')}` },
    });
  }

  function expectProblem(response: LightMyRequestResponse, status: number, field?: string): ProblemBody {
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json<ProblemBody>();
    expect({ status: response.statusCode, problemStatus: problem.status }).toEqual({
      status,
      problemStatus: status,
    });
    if (field !== undefined) expect(problem.errors?.map((error) => error.field)).toContain(field);
    return problem;
  }

  async function storedName(): Promise<string> {
    const response = await send({ method: 'GET', url: `/v1/devices/${device.device.id}` });
    expect(response.statusCode).toBe(200);
    return response.json<DeviceResponse>().name;
  }

  it.each([
    ['a NUL', `pi${NUL}`],
    ['a lone surrogate', `pi${LONE_SURROGATE}`],
    ['101 characters as the database counts them', NAME_WITH_VARIATION_SELECTOR],
  ])('refuses a device name with %s on create and rename, and keeps the stored name', async (_, name) => {
    expectProblem(await send({ method: 'POST', url: '/v1/devices', payload: { name } }), 400, 'name');
    expectProblem(
      await send({ method: 'PATCH', url: `/v1/devices/${device.device.id}`, payload: { name } }),
      400,
      'name',
    );
    expect(await storedName()).toBe('probe-pi');
  });

  it('stores a name of exactly 100 characters with a variation selector as given', async () => {
    const name = `${'y'.repeat(99)}\ufe0f`;
    const response = await send({ method: 'POST', url: '/v1/devices', payload: { name } });

    expect(response.statusCode).toBe(201);
    const created = response.json<Created>();
    const read = await send({ method: 'GET', url: `/v1/devices/${created.device.id}` });
    expect(read.json<DeviceResponse>().name).toBe(name);
  });

  it.each([
    ['agentVersion', { agentVersion: `1.0${NUL}` }],
    ['hardware.model', { agentVersion: '1.0', hardware: { model: `pi${NUL}` } }],
    ['hardware.os', { agentVersion: '1.0', hardware: { os: `linux${LONE_SURROGATE}` } }],
  ])('refuses a registration whose %s the database cannot store', async (field, body) => {
    const response = await asDevice({
      method: 'POST',
      url: '/v1/agent/register',
      payload: { capabilities: ['ping'], ...body },
    });

    expectProblem(response, 400, field);
  });

  it('refuses a heartbeat the database cannot store before presence changes', async () => {
    const before = (
      await send({ method: 'GET', url: `/v1/devices/${device.device.id}` })
    ).json<DeviceResponse>();

    const response = await asDevice({
      method: 'POST',
      url: '/v1/agent/heartbeat',
      payload: { uptimeSec: 5, agentVersion: `2.0${NUL}` },
    });

    expectProblem(response, 400, 'agentVersion');
    const after = (
      await send({ method: 'GET', url: `/v1/devices/${device.device.id}` })
    ).json<DeviceResponse>();
    expect(after.presence).toEqual(before.presence);
  });

  it('refuses 5,000 levels of nesting in an unknown field with a 400', async () => {
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const response = await send({
      method: 'POST',
      url: '/v1/devices',
      headers: { 'content-type': 'application/json' },
      payload: `{"name":"deep","extra":${deep}}`,
    });

    expectProblem(response, 400);
  });

  it.each(['-000001-01-01T00:00:00Z', '+010000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z'])(
    'refuses a list cursor encoding the date %s',
    async (date) => {
      const response = await send({ method: 'GET', url: `/v1/devices?cursor=${cursorFor(date)}` });

      expect(expectProblem(response, 400).code).toBe('invalid_cursor');
    },
  );

  it.each(OBJECT_BUILT_INS)('refuses an unknown field named %s in bodies and queries', async (name) => {
    const body = JSON.stringify({ name: 'pi' }).replace('}', `,"${name}":"x"}`);
    const json = { 'content-type': 'application/json' };

    expectProblem(
      await send({ method: 'POST', url: '/v1/devices', headers: json, payload: body }),
      400,
      name,
    );
    expectProblem(
      await send({ method: 'PATCH', url: `/v1/devices/${device.device.id}`, headers: json, payload: body }),
      400,
      name,
    );
    expectProblem(await send({ method: 'GET', url: `/v1/devices?${name}=x` }), 400, name);
    expect(await storedName()).toBe('probe-pi');
  });

  it.each(['/v1/devices/%ZZ', '/v1/devices/%C0%AE'])(
    'answers the undecodable path %s with a problem',
    async (url) => {
      expectProblem(await send({ method: 'GET', url }), 400);
    },
  );

  it('answers a path parameter over 100 characters with a 414 problem', async () => {
    expectProblem(await send({ method: 'GET', url: `/v1/devices/${'a'.repeat(101)}` }), 414);
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['no content type', {}],
  ])('answers a body sent as %s with 415', async (_, headers) => {
    const response = await send({ method: 'POST', url: '/v1/devices', headers, payload: '{"name":"pi"}' });

    expectProblem(response, 415);
  });
});

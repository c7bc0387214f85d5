import { randomUUID } from 'node:crypto';
import { type CustomerPrincipal } from '../../src/auth/principal';
import { DevicesService } from '../../src/devices/devices.service';
import { type InProcessApp, startInProcessApp } from '../support/in-process-app';

/**
 * The heartbeat is a hot route (src/common/http/hot-route.ts): Fastify serves it without Nest's router.
 * These are the things Nest's router would otherwise have given it, checked on the route itself.
 */
describe('POST /v1/agent/heartbeat, served as a hot route', () => {
  let gateway: InProcessApp;
  let authorization: string;
  let deviceId: string;

  const customer: CustomerPrincipal = {
    kind: 'customer',
    userId: randomUUID(),
    sessionId: randomUUID(),
    isAdmin: false,
    email: null,
    expiresAt: Date.now() + 3_600_000,
  };

  const basic = (id: string, secret: string): string =>
    `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

  function heartbeat(headers: Record<string, string>, payload: unknown = { uptimeSec: 42 }) {
    return gateway.app.inject({
      method: 'POST',
      url: '/v1/agent/heartbeat',
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  }

  beforeAll(async () => {
    gateway = await startInProcessApp({ env: { LOG_LEVEL: 'warn' } });
    const created = await gateway.app.get(DevicesService).create(customer, { name: 'hot route probe' });
    deviceId = created.credentials.deviceId;
    authorization = basic(deviceId, created.credentials.secret);
  });

  afterAll(async () => {
    await (gateway as InProcessApp | undefined)?.close();
  });

  it('answers exactly the contract fields, with the request id echoed', async () => {
    const response = await heartbeat({ authorization, 'x-request-id': 'agent-hb-1' });

    expect(response.statusCode).toBe(200);
    expect(response.headers['x-request-id']).toBe('agent-hb-1');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const body = response.json<Record<string, unknown>>();
    expect(Object.keys(body).sort()).toEqual(['nextHeartbeatSec', 'pendingCommands', 'serverTime']);
    expect(Number.isNaN(Date.parse(String(body.serverTime)))).toBe(false);
  });

  it('records the sign for the device the guard authenticated', async () => {
    await heartbeat({ authorization }, { uptimeSec: 4242, agentVersion: '9.9.9' });

    const view = await gateway.app.get(DevicesService).get(customer, deviceId);
    expect(view.presence.state).toBe('online');
    expect(view.presence.lastHeartbeat).toEqual({ uptimeSec: 4242, agentVersion: '9.9.9' });
  });

  it('refuses a wrong secret with a 401 problem carrying the request id, counted in the metrics', async () => {
    const response = await heartbeat({
      authorization: basic(deviceId, 'not-the-secret'),
      'x-request-id': 'agent-hb-2',
    });

    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['x-request-id']).toBe('agent-hb-2');
    expect(response.json()).toMatchObject({
      status: 401,
      code: 'invalid_credentials',
      requestId: 'agent-hb-2',
    });
    const metrics = await gateway.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/auth_failures_total\{principal="device",reason="wrong_secret"\} [1-9]/);
  });

  it('refuses a customer token: the route accepts only the principals its controller declares', async () => {
    const response = await heartbeat({ authorization: 'Bearer not.a.device' });

    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'invalid_credentials' });
  });

  it('refuses an unknown field with a validation problem naming it, before authenticating', async () => {
    const response = await heartbeat({ authorization }, { uptimeSec: 1, shell: 'rm -rf /' });

    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({
      code: 'validation_failed',
      errors: [expect.objectContaining({ field: 'shell' })],
    });
  });

  it('answers a form-encoded body with 415 and malformed JSON with 400, as problems', async () => {
    const form = await gateway.app.inject({
      method: 'POST',
      url: '/v1/agent/heartbeat',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'uptimeSec=1',
    });
    const garbled = await heartbeat({ authorization }, '{"uptimeSec": ');

    expect(form.statusCode).toBe(415);
    expect(form.json()).toMatchObject({ code: 'unsupported_media_type' });
    expect(garbled.statusCode).toBe(400);
    expect(garbled.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('is measured under its route template, like every Nest route', async () => {
    await heartbeat({ authorization });

    const metrics = await gateway.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(
      /http_request_duration_seconds_count\{route="\/v1\/agent\/heartbeat",method="POST",status_code="200"\} [1-9]/,
    );
    expect(metrics.body).toMatch(
      /http_request_duration_seconds_count\{route="\/v1\/agent\/heartbeat",method="POST",status_code="401"\} [1-9]/,
    );
  });
});

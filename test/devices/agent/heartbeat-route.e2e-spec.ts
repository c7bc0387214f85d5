import { createDevToken } from '../../../src/auth/dev-token';
import { DependencyUnavailableError } from '../../../src/common/errors/common.errors';
import { DevicesService } from '../../../src/devices/devices.service';
import { PresenceService } from '../../../src/devices/presence/presence.service';
import { INTERNAL_FAILURE_MESSAGE } from '../../support/error-probe.module';
import { type InProcessApp, startInProcessApp } from '../../support/in-process-app';
import { customerPrincipal } from '../../support/principals';

/**
 * The heartbeat is registered with Fastify directly (src/devices/agent/heartbeat.route.ts), outside
 * Nest's router. These are the things Nest's router would otherwise have given it, checked on the route.
 */
describe('POST /v1/agent/heartbeat, registered with Fastify directly', () => {
  let gateway: InProcessApp;
  let authorization: string;
  let deviceId: string;

  const customer = customerPrincipal();

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
    gateway = await startInProcessApp({ env: { LOG_LEVEL: 'silent' } });
    const created = await gateway.app.get(DevicesService).create(customer, { name: 'heartbeat probe' });
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

  it('refuses a valid customer token: the route accepts only the principals it declares', async () => {
    const token = await createDevToken(gateway.dataDir, { sub: customer.userId });
    const devices = await gateway.app.inject({
      method: 'GET',
      url: '/v1/devices',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(devices.statusCode).toBe(200);

    const response = await heartbeat({ authorization: `Bearer ${token}` });

    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'invalid_credentials' });
  });

  it('refuses missing credentials before reading the body, so their callers learn nothing of its schema', async () => {
    const missing = await heartbeat({}, { uptimeSec: 'soon', shell: 'rm -rf /' });
    const garbled = await heartbeat({}, '{"uptimeSec": ');

    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toMatchObject({ code: 'missing_credentials' });
    expect(garbled.statusCode).toBe(401);
  });

  it('refuses an unknown field from an authenticated device with a validation problem naming it', async () => {
    const response = await heartbeat({ authorization }, { uptimeSec: 1, shell: 'rm -rf /' });

    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({
      code: 'validation_failed',
      errors: [expect.objectContaining({ field: 'shell' })],
    });
  });

  it('answers another method on its path with a 404 problem', async () => {
    const response = await gateway.app.inject({
      method: 'GET',
      url: '/v1/agent/heartbeat',
      headers: { authorization },
    });

    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
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

  describe('errors of its handler', () => {
    afterEach(() => {
      jest.restoreAllMocks();
    });

    it('answers an unexpected failure with a 500 problem that does not reveal it', async () => {
      jest
        .spyOn(gateway.app.get(PresenceService), 'recordSign')
        .mockRejectedValueOnce(new Error(INTERNAL_FAILURE_MESSAGE));

      const response = await heartbeat({ authorization });

      expect(response.statusCode).toBe(500);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ code: 'internal_error' });
      expect(response.body).not.toContain(INTERNAL_FAILURE_MESSAGE);
    });

    it('answers a failed dependency with a 503 problem and Retry-After, so agents retry', async () => {
      jest
        .spyOn(gateway.app.get(PresenceService), 'recordSign')
        .mockRejectedValueOnce(new DependencyUnavailableError('cache', new Error('connection refused')));

      const response = await heartbeat({ authorization });

      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toMatch(/^\d+$/);
      expect(response.json()).toMatchObject({ code: 'dependency_unavailable' });
    });
  });
});

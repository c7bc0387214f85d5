import { randomUUID } from 'node:crypto';
import { createDevToken } from '../../src/auth/dev-token';
import { type LogEntry } from '../support/captured-logs';
import { type InProcessApp, startInProcessApp } from '../support/in-process-app';

const SERVICE_KEY = 'request-log-service-key-0123456789abcdef';
/** In a query string that a raw-URL log would copy; the route template never carries it. */
const QUERY_MARKER = 'request-log-query-marker-6b1f';

interface Traffic {
  customerId: string;
  deviceId: string;
  /** Every credential the requests carried; none may reach a log line. */
  credentials: string[];
}

/** The same requests at each level: one per principal kind, a public one, a refused one, an unmatched one. */
async function sendTraffic(gateway: InProcessApp): Promise<Traffic> {
  const customerId = randomUUID();
  const token = await createDevToken(gateway.dataDir, { sub: customerId });
  const inject = async (
    id: string,
    method: 'GET' | 'POST',
    url: string,
    authorization?: string,
    payload?: unknown,
  ): Promise<{ status: number; body: string }> => {
    const response = await gateway.app.inject({
      method,
      url,
      headers: {
        'x-request-id': id,
        ...(authorization === undefined ? {} : { authorization }),
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
    return { status: response.statusCode, body: response.body };
  };

  const created = await inject('rl-create', 'POST', '/v1/devices', `Bearer ${token}`, { name: 'log probe' });
  expect(created.status).toBe(201);
  const { deviceId, secret } = (
    JSON.parse(created.body) as { credentials: { deviceId: string; secret: string } }
  ).credentials;
  const basic = `Basic ${Buffer.from(`${deviceId}:${secret}`).toString('base64')}`;

  const answers = [
    await inject('rl-register', 'POST', '/v1/agent/register', basic, {
      agentVersion: '1.0.0',
      capabilities: [],
    }),
    await inject('rl-heartbeat', 'POST', '/v1/agent/heartbeat', basic, { uptimeSec: 12 }),
    await inject('rl-device', 'GET', `/v1/devices/${deviceId}?${QUERY_MARKER}=1`, `Bearer ${token}`),
    await inject('rl-service', 'GET', `/v1/sessions/${randomUUID()}`, `Bearer ${SERVICE_KEY}`),
    await inject('rl-live', 'GET', '/health/live'),
    await inject('rl-refused', 'GET', '/v1/devices', `Bearer ${token}x`),
    await inject('rl-unmatched', 'GET', `/no/such/${QUERY_MARKER}`),
  ];
  expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 404, 200, 401, 404]);
  return { customerId, deviceId, credentials: [token, secret, basic, SERVICE_KEY] };
}

function requestLines(gateway: InProcessApp): LogEntry[] {
  return gateway.logs.entries().filter((entry) => entry.msg === 'request');
}

describe('request log', () => {
  const gateways: InProcessApp[] = [];

  async function start(level: string): Promise<InProcessApp> {
    const gateway = await startInProcessApp({
      env: { LOG_LEVEL: level, SERVICE_KEYS: `planner:${SERVICE_KEY}` },
    });
    gateways.push(gateway);
    return gateway;
  }

  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.close()));
  });

  describe('at debug', () => {
    let gateway: InProcessApp;
    let traffic: Traffic;

    beforeAll(async () => {
      gateway = await start('debug');
      traffic = await sendTraffic(gateway);
    });

    it('logs one line per request, with its route template, status, duration and principal', () => {
      const lines = requestLines(gateway);
      const byId = (id: string): LogEntry[] => lines.filter((line) => line.requestId === id);

      expect(lines.map((line) => line.requestId)).toEqual([
        'rl-create',
        'rl-register',
        'rl-heartbeat',
        'rl-device',
        'rl-service',
        'rl-live',
        'rl-refused',
        'rl-unmatched',
      ]);
      expect(byId('rl-create')).toEqual([
        expect.objectContaining({
          level: 'debug',
          method: 'POST',
          route: '/v1/devices',
          status: 201,
          principalKind: 'customer',
          principalId: traffic.customerId,
        }),
      ]);
      for (const id of ['rl-register', 'rl-heartbeat']) {
        expect(byId(id)[0]).toMatchObject({
          principalKind: 'device',
          principalId: traffic.deviceId,
          status: 200,
        });
      }
      expect(byId('rl-heartbeat')[0]).toMatchObject({ method: 'POST', route: '/v1/agent/heartbeat' });
      expect(byId('rl-device')[0]).toMatchObject({ route: '/v1/devices/:deviceId', status: 200 });
      expect(byId('rl-service')[0]).toMatchObject({
        method: 'GET',
        route: '/v1/sessions/:sessionId',
        status: 404,
        principalKind: 'service',
        principalId: 'planner',
      });
      expect(byId('rl-unmatched')[0]).toMatchObject({ route: 'unmatched', status: 404 });
      for (const line of lines) {
        expect(typeof line.durationMs).toBe('number');
        expect(line.durationMs).toBeGreaterThanOrEqual(0);
      }
    });

    it('names no principal for a public route or a refused credential', () => {
      const anonymous = requestLines(gateway).filter((line) =>
        ['rl-live', 'rl-refused'].includes(String(line.requestId)),
      );

      expect(anonymous.map((line) => line.status)).toEqual([200, 401]);
      for (const line of anonymous) {
        expect(line).not.toHaveProperty('principalKind');
        expect(line).not.toHaveProperty('principalId');
      }
    });

    it('never carries a credential, an authorization value or the raw URL', () => {
      const text = requestLines(gateway)
        .map((line) => JSON.stringify(line))
        .join('\n');

      for (const credential of traffic.credentials) expect(gateway.logs.text).not.toContain(credential);
      expect(text).not.toMatch(/authorization|bearer|basic /i);
      expect(text).not.toContain(QUERY_MARKER);
    });
  });

  describe('at info', () => {
    it('logs no request line', async () => {
      const gateway = await start('info');

      await sendTraffic(gateway);

      // The app does log at info (its start-up), so an empty request log is not an empty log.
      expect(gateway.logs.entries().some((entry) => entry.level === 'info')).toBe(true);
      expect(requestLines(gateway)).toEqual([]);
      expect(
        gateway.logs.entries().filter((entry) => entry.level === 'debug' || 'durationMs' in entry),
      ).toEqual([]);
    });
  });
});

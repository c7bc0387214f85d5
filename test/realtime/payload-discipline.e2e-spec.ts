import { randomUUID } from 'node:crypto';
import { type Socket } from 'socket.io-client';
import { type GatewayInstance, request } from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { ask, disconnection, nextEvent } from '../support/socket-clients';

interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  errors?: { field: string; message: string }[];
}

const MAX_MESSAGE_BYTES = 4096;
const MAX_SUBSCRIPTIONS = 2;

/** An object nested `depth` levels deep. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level += 1) value = { a: value };
  return value;
}

/** [event, malformed payload, a field the problem names] */
type Case = [string, unknown, string];

/**
 * Nothing a client sends crashes the gateway or is silently dropped (docs/guide.md#socketio): every event validates
 * its payload like an HTTP body and answers a problem, in the ack or, without one, in an `error` event.
 */
describe('realtime payload discipline', () => {
  let cluster: RealtimeCluster;
  let a: GatewayInstance;
  let customer: string;
  let deviceIds: string[];
  let agent: Socket;
  let portal: Socket;

  const agentCases: Case[] = [
    ['heartbeat', { uptimeSec: -1 }, 'uptimeSec'],
    ['heartbeat', { uptimeSec: 'soon' }, 'uptimeSec'],
    ['heartbeat', { uptimeSec: 1, metrics: { cpuPct: 250 } }, 'metrics.cpuPct'],
    ['heartbeat', { uptimeSec: 1, shell: 'rm -rf /' }, 'shell'],
    ['heartbeat', {}, 'uptimeSec'],
    ['heartbeat', 'garbage', 'payload'],
    ['heartbeat', null, 'payload'],
    ['heartbeat', [1, 2], 'payload'],
    // What the database could not store, and shapes that once slipped past validation.
    ['heartbeat', { uptimeSec: 1, agentVersion: '1.0\u0000' }, 'agentVersion'],
    [
      'heartbeat',
      { uptimeSec: 1, network: { interfaces: [{ name: 'eth\ud800' }] } },
      'network.interfaces.0.name',
    ],
    ['heartbeat', JSON.parse('{"uptimeSec":1,"constructor":"x"}') as unknown, 'constructor'],
    ['heartbeat', JSON.parse('{"uptimeSec":1,"__defineGetter__":"x"}') as unknown, '__defineGetter__'],
    ['heartbeat', { uptimeSec: 1, extra: nested(100) }, 'extra'],
  ];
  const portalCases: Case[] = [
    ...['device:subscribe', 'device:unsubscribe'].flatMap((event): Case[] => [
      [event, { deviceId: 'not-a-uuid' }, 'deviceId'],
      [event, {}, 'deviceId'],
      [event, { deviceId: randomUUID(), extra: true }, 'extra'],
      [event, 42, 'payload'],
      [event, null, 'payload'],
    ]),
    ['auth:refresh', {}, 'token'],
    ['auth:refresh', { token: 5 }, 'token'],
    ['auth:refresh', { token: '' }, 'token'],
    ['auth:refresh', { token: 'x', admin: true }, 'admin'],
    ['auth:refresh', 'token', 'payload'],
    ['device:subscribe', { deviceId: `${randomUUID()}\u0000` }, 'deviceId'],
    ['device:subscribe', JSON.parse(`{"deviceId":"${randomUUID()}","toString":"x"}`) as unknown, 'toString'],
  ];

  beforeAll(async () => {
    cluster = await startRealtimeCluster('realtime-payloads', 1, {
      SOCKET_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
      // The message limit must admit a command result of the largest output (app-config.ts).
      COMMAND_OUTPUT_MAX_BYTES: '1024',
      SOCKET_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS),
    });
    [a] = cluster.instances as [GatewayInstance];
    customer = (await cluster.stack.mintCustomerToken()).accessToken;
    const devices = [];
    for (let index = 0; index <= MAX_SUBSCRIPTIONS; index += 1)
      devices.push(await cluster.createDevice(customer));
    deviceIds = devices.map(({ device }) => device.id);
    const [first] = devices;
    if (!first) throw new Error('no device');
    agent = await cluster.sockets.connectAgent(a.url, first.credentials);
    portal = await cluster.sockets.connectPortal(a.url, customer);
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  async function stillWorks(): Promise<void> {
    expect(agent.connected && portal.connected).toBe(true);
    expect(await ask(agent, 'heartbeat', { uptimeSec: 1 })).toMatchObject({ nextHeartbeatSec: 1 });
    expect(await ask(portal, 'device:unsubscribe', { deviceId: randomUUID() })).toEqual({ ok: true });
    expect((await request(`${a.url}/health/live`)).status).toBe(200);
  }

  function expectValidationProblem(problem: Problem | undefined, field: string): void {
    expect(problem).toMatchObject({
      status: 400,
      code: 'validation_failed',
      title: expect.any(String) as unknown,
    });
    expect(problem?.errors?.map((error) => error.field)).toContain(field);
  }

  it('answers a malformed agent event with a problem in its ack', async () => {
    for (const [event, payload, field] of agentCases) {
      const answer = await ask<{ error?: Problem }>(agent, event, payload);
      expect(Object.keys(answer)).toEqual(['error']);
      expectValidationProblem(answer.error, field);
    }
    await stillWorks();
  });

  it('answers a malformed portal event with ok false and a problem in its ack', async () => {
    for (const [event, payload, field] of portalCases) {
      const answer = await ask<{ ok: boolean; error?: Problem }>(portal, event, payload);
      expect({ event, payload, ok: answer.ok }).toEqual({ event, payload, ok: false });
      expectValidationProblem(answer.error, field);
    }
    await stillWorks();
  });

  it('sends an error event for a malformed event that asked for no ack', async () => {
    for (const [socket, cases] of [
      [agent, agentCases],
      [portal, portalCases],
    ] as const) {
      for (const [event, payload, field] of cases) {
        const reported = nextEvent<Problem & { event: string }>(socket, 'error');
        socket.emit(event, payload);
        const problem = await reported;
        expect({ sent: event, reported: problem.event }).toEqual({ sent: event, reported: event });
        expectValidationProblem(problem, field);
      }
    }
    await stillWorks();
  });

  it('answers an event the namespace does not know, with or without an ack', async () => {
    const agentAnswer = await ask<{ error?: Problem }>(agent, 'command:teleport', { to: 'mars' });
    expect(agentAnswer.error).toMatchObject({ status: 400, code: 'unknown_event' });
    const portalAnswer = await ask<{ ok: boolean; error?: Problem }>(portal, 'device:delete', {});
    expect(portalAnswer).toMatchObject({ ok: false, error: { status: 400, code: 'unknown_event' } });
    const reported = nextEvent<Problem & { event: string }>(portal, 'error');
    portal.emit('nonsense');
    expect(await reported).toMatchObject({ event: 'nonsense', code: 'unknown_event' });
    await stillWorks();
  });

  it('answers an event sent with an ack but no payload with a problem in the ack', async () => {
    const heartbeat = (await agent.timeout(5000).emitWithAck('heartbeat')) as { error?: Problem };
    expectValidationProblem(heartbeat.error, 'payload');
    const subscribe = (await portal.timeout(5000).emitWithAck('device:subscribe')) as {
      ok: boolean;
      error?: Problem;
    };
    expect(subscribe.ok).toBe(false);
    expectValidationProblem(subscribe.error, 'payload');
    await stillWorks();
  });

  it(`limits a socket to ${MAX_SUBSCRIPTIONS} subscriptions with a too_many_subscriptions problem`, async () => {
    const [first, second, third] = deviceIds as [string, string, string];
    for (const deviceId of [first, second]) {
      expect(await ask(portal, 'device:subscribe', { deviceId })).toMatchObject({ ok: true });
    }
    // Subscribing again to a device already counted is not a new subscription.
    expect(await ask(portal, 'device:subscribe', { deviceId: first })).toMatchObject({ ok: true });
    const refused = await ask<{ ok: boolean; error?: Problem }>(portal, 'device:subscribe', {
      deviceId: third,
    });
    expect(refused).toEqual({
      ok: false,
      error: expect.objectContaining({ status: 429, code: 'too_many_subscriptions' }) as unknown,
    });
    expect(await ask(portal, 'device:unsubscribe', { deviceId: first })).toEqual({ ok: true });
    expect(await ask(portal, 'device:subscribe', { deviceId: third })).toMatchObject({ ok: true });
    await stillWorks();
  });

  it('closes only the connection that sends a message over SOCKET_MAX_MESSAGE_BYTES', async () => {
    const token = (await cluster.stack.mintCustomerToken()).accessToken;
    const oversized = await cluster.sockets.connectPortal(a.url, token);
    const closed = disconnection(oversized);
    oversized.emit('auth:refresh', { token: 'x'.repeat(MAX_MESSAGE_BYTES * 2) });
    expect(await closed).toBe('transport close');

    const big = await cluster.sockets.connectPortal(a.url, token);
    // Just under the limit is still a message (answered: the token is no token).
    const answer = await ask<{ ok: boolean; error?: Problem }>(big, 'auth:refresh', {
      token: 'x'.repeat(MAX_MESSAGE_BYTES - 100),
    });
    expect(answer).toMatchObject({ ok: false, error: { status: 401 } });
    big.disconnect();
    await stillWorks();
  });
});

import { type Socket } from 'socket.io-client';
import { type DeviceResponse } from '../../src/devices/dto/device.response';
import { eventually, holdsFor } from '../support/eventually';
import { basic, type GatewayInstance, request } from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { ask, disconnection, nextEvent, record } from '../support/socket-clients';

const HEARTBEAT = {
  uptimeSec: 7,
  agentVersion: '2.0.0',
  metrics: { cpuPct: 3, memPct: 20, diskPct: 30, tempC: 41, load1: 0.1 },
  network: { gatewayReachable: true, dnsOk: true, latencyMs: 9 },
};

type SubscribeAck = { ok: boolean; device?: DeviceResponse; error?: { status: number; code: string } };

/** The presence states a portal saw for one device, in order. */
function statesOf(seen: { payload: DeviceResponse }[], deviceId: string): string[] {
  return seen.filter(({ payload }) => payload.id === deviceId).map(({ payload }) => payload.presence.state);
}

/**
 * Presence crosses instances (docs/guide.md#devices-and-presence, #socketio): signs on one instance, `device:status` on portals of every
 * other, through the Redis Streams adapter; takeover by epoch; socket heartbeats visible over HTTP.
 */
describe('realtime presence across three instances', () => {
  let cluster: RealtimeCluster;
  let a: GatewayInstance;
  let b: GatewayInstance;
  let c: GatewayInstance;
  let customer: string;
  let admin: string;

  beforeAll(async () => {
    cluster = await startRealtimeCluster('realtime-presence', 3);
    [a, b, c] = cluster.instances as [GatewayInstance, GatewayInstance, GatewayInstance];
    customer = (await cluster.stack.mintCustomerToken()).accessToken;
    admin = (await cluster.stack.mintCustomerToken({ appMetadata: { provider: 'email', role: 'admin' } }))
      .accessToken;
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  /** Portals watching a device: an admin subscribed on B, its customer subscribed on B and unsubscribed on C. */
  async function watch(deviceId: string) {
    const adminOnB = await cluster.sockets.connectPortal(b.url, admin);
    const ownerOnB = await cluster.sockets.connectPortal(b.url, customer);
    const ownerOnC = await cluster.sockets.connectPortal(c.url, customer);
    const seen = {
      adminOnB: record<DeviceResponse>(adminOnB, 'device:status'),
      ownerOnB: record<DeviceResponse>(ownerOnB, 'device:status'),
      ownerOnC: record<DeviceResponse>(ownerOnC, 'device:status'),
    };
    for (const portal of [adminOnB, ownerOnB]) {
      const ack = await ask<SubscribeAck>(portal, 'device:subscribe', { deviceId });
      expect(ack).toMatchObject({ ok: true, device: { id: deviceId, presence: { state: 'unknown' } } });
    }
    return { seen, portals: [adminOnB, ownerOnB, ownerOnC] };
  }

  function close(portals: Socket[]): void {
    for (const portal of portals) portal.disconnect();
  }

  it('shows an agent socket on A online, then offline the moment it closes, to portals on B and C', async () => {
    const { credentials } = await cluster.createDevice(customer);
    const { deviceId } = credentials;
    const { seen, portals } = await watch(deviceId);

    const agent = await cluster.sockets.connectAgent(a.url, credentials);
    await eventually(
      'every portal saw the device online',
      () => Promise.resolve(Object.values(seen).map((events) => statesOf(events, deviceId))),
      (states) => states.every((list) => list.includes('online')),
    );
    const online = seen.ownerOnC.find(({ payload }) => payload.id === deviceId)?.payload;
    expect(online).toMatchObject({
      id: deviceId,
      customerId: expect.any(String) as unknown,
      status: 'provisioned',
    });
    expect(Date.parse(online?.presence.lastSeenAt ?? '')).not.toBeNaN();

    const closedAt = Date.now();
    agent.disconnect();
    await eventually(
      'every portal saw the device offline',
      () => Promise.resolve(Object.values(seen).map((events) => statesOf(events, deviceId))),
      (states) => states.every((list) => list.includes('offline')),
      { timeoutMs: 5000 },
    );
    // Offline by the close, not by silence (that would take 3 heartbeat intervals, 3 s here).
    const offlineAt = seen.ownerOnC.find(({ payload }) => payload.presence.state === 'offline')?.at ?? 0;
    expect(offlineAt - closedAt).toBeLessThan(1500);
    // Each transition once per portal, even for the socket that is in both the customer and the device room.
    for (const events of Object.values(seen))
      expect(statesOf(events, deviceId)).toEqual(['online', 'offline']);
    expect((await cluster.getDevice(c, deviceId, customer)).presence.state).toBe('offline');
    close(portals);
  });

  it('moves a silent HTTP-heartbeat device online, stale, offline on portals of other instances', async () => {
    const { credentials } = await cluster.createDevice(customer);
    const { deviceId } = credentials;
    const { seen, portals } = await watch(deviceId);

    const beat = await request(`${a.url}/v1/agent/heartbeat`, {
      method: 'POST',
      authorization: basic(deviceId, credentials.secret),
      body: HEARTBEAT,
    });
    expect(beat.status).toBe(200);
    const beatAt = Date.now();
    await eventually(
      'every portal saw online, stale, offline',
      () => Promise.resolve(Object.values(seen).map((events) => statesOf(events, deviceId))),
      (states) => states.every((list) => list.includes('offline')),
      { timeoutMs: 8000 },
    );
    for (const events of Object.values(seen)) {
      expect(statesOf(events, deviceId)).toEqual(['online', 'stale', 'offline']);
    }
    const at = (state: string) =>
      seen.adminOnB.find(({ payload }) => payload.presence.state === state)?.at ?? Number.NaN;
    // Stale after 1.5 heartbeat intervals of silence, offline after 3 (1 s interval, 100 ms sweeps).
    expect(at('stale') - beatAt).toBeGreaterThanOrEqual(1300);
    expect(at('offline') - beatAt).toBeGreaterThanOrEqual(2800);
    const stale = seen.ownerOnC.find(({ payload }) => payload.presence.state === 'stale')?.payload;
    expect(stale?.presence.lastHeartbeat).toEqual(HEARTBEAT);
    close(portals);
  });

  it('lets a reconnection on B take over: A is told "replaced" and its late close changes nothing', async () => {
    const { credentials } = await cluster.createDevice(customer);
    const { deviceId } = credentials;
    const { seen, portals } = await watch(deviceId);

    const first = await cluster.sockets.connectAgent(a.url, credentials);
    await eventually(
      'the device is online for every portal',
      () => Promise.resolve(Object.values(seen).map((events) => statesOf(events, deviceId))),
      (states) => states.every((list) => list.includes('online')),
    );
    const closing = nextEvent<{ reason: string }>(first, 'connection:closing');
    const firstClosed = disconnection(first);

    const second = await cluster.sockets.connectAgent(b.url, credentials);
    expect(await closing).toEqual({ reason: 'replaced' });
    expect(await firstClosed).toBe('io server disconnect');
    expect(second.connected).toBe(true);

    // Longer than the stale threshold (1.5 s): the new socket keeps it online, the old close did not end it.
    await holdsFor(
      'the device to stay online on every instance',
      async () =>
        Promise.all(
          [a, b, c].map(
            async (instance) => (await cluster.getDevice(instance, deviceId, customer)).presence.state,
          ),
        ),
      (states) => states.every((state) => state === 'online'),
      2000,
    );
    const ack = await ask<{ serverTime: string; nextHeartbeatSec: number }>(second, 'heartbeat', HEARTBEAT);
    expect(ack.nextHeartbeatSec).toBe(1);
    for (const events of Object.values(seen)) expect(statesOf(events, deviceId)).toEqual(['online']);
    const transitions = [a, b, c].flatMap((instance) =>
      instance.transitions.filter((transition) => transition.deviceId === deviceId).map(({ to }) => to),
    );
    expect(transitions).toEqual(['online']);
    close(portals);
  });

  it('keeps a connected agent that sends nothing online past the offline threshold', async () => {
    const { credentials } = await cluster.createDevice(customer);
    const { deviceId } = credentials;
    const { seen, portals } = await watch(deviceId);
    await cluster.sockets.connectAgent(a.url, credentials);
    // 3.5 s of silence on the socket: stale would come at 1.5 s and offline at 3 s without its liveness.
    await holdsFor(
      'the silent but connected device to stay online on every instance',
      async () =>
        Promise.all(
          [a, b, c].map(
            async (instance) => (await cluster.getDevice(instance, deviceId, customer)).presence.state,
          ),
        ),
      (states) => states.every((state) => state === 'online'),
      3500,
    );
    for (const events of Object.values(seen)) expect(statesOf(events, deviceId)).toEqual(['online']);
    close(portals);
  });

  it('feeds socket heartbeats into presence, readable over HTTP on another instance', async () => {
    const { credentials } = await cluster.createDevice(customer);
    const { deviceId } = credentials;
    const agent = await cluster.sockets.connectAgent(a.url, credentials);

    const ack = await ask<{ serverTime: string; nextHeartbeatSec: number }>(agent, 'heartbeat', HEARTBEAT);
    expect(ack).toEqual({ serverTime: expect.any(String) as unknown, nextHeartbeatSec: 1 });
    expect(Math.abs(Date.parse(ack.serverTime) - Date.now())).toBeLessThan(5000);
    const view = await cluster.getDevice(b, deviceId, customer);
    expect(view.presence).toMatchObject({ state: 'online', lastHeartbeat: HEARTBEAT });

    const next = { ...HEARTBEAT, uptimeSec: 8, metrics: { ...HEARTBEAT.metrics, cpuPct: 99 } };
    await ask(agent, 'heartbeat', next);
    expect((await cluster.getDevice(c, deviceId, customer)).presence.lastHeartbeat).toEqual(next);
    // Persisted as well (throttled to once per second here), so it survives the hot state.
    await eventually(
      'the database holds the agent version from the socket heartbeat',
      async () => (await cluster.getDevice(b, deviceId, customer)).agentVersion,
      (version) => version === '2.0.0',
    );
    agent.disconnect();
  });
});

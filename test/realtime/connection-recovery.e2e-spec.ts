import { type Socket } from 'socket.io-client';
import { type DeviceResponse } from '../../src/devices/dto/device.response';
import { eventually } from '../support/eventually';
import { type GatewayInstance, request } from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { ask, disconnection, record } from '../support/socket-clients';

/** Reconnects on its own after a lost connection, after a fixed half second. */
const RECONNECTING = {
  reconnection: true,
  reconnectionDelay: 500,
  reconnectionDelayMax: 500,
  randomizationFactor: 0,
};

/** Resolves with the time of the socket's next `connect`. */
function reconnection(socket: Socket): Promise<number> {
  return new Promise((resolve) => {
    socket.once('connect', () => {
      resolve(Date.now());
    });
  });
}

/**
 * Connection state recovery with the Redis Streams adapter (docs/guide.md#socketio): a portal whose connection drops
 * and comes back within SOCKET_RECOVERY_WINDOW_MS gets the events it missed, on whatever instance
 * emitted them, with its rooms (customer and subscriptions) as they were.
 */
describe('realtime connection state recovery', () => {
  let cluster: RealtimeCluster;
  let a: GatewayInstance;
  let b: GatewayInstance;
  let c: GatewayInstance;
  let customer: string;
  let admin: string;

  beforeAll(async () => {
    cluster = await startRealtimeCluster('realtime-recovery', 3, { SOCKET_MAX_SUBSCRIPTIONS: '1' });
    [a, b, c] = cluster.instances as [GatewayInstance, GatewayInstance, GatewayInstance];
    customer = (await cluster.stack.mintCustomerToken()).accessToken;
    admin = (await cluster.stack.mintCustomerToken({ appMetadata: { provider: 'email', role: 'admin' } }))
      .accessToken;
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('delivers a device:status emitted while the portal was briefly disconnected, with recovered true', async () => {
    const { credentials } = await cluster.createDevice(customer);
    const { deviceId } = credentials;
    const owner = await cluster.sockets.connectPortal(b.url, customer, RECONNECTING);
    const watcher = await cluster.sockets.connectPortal(b.url, admin, RECONNECTING);
    expect(await ask(watcher, 'device:subscribe', { deviceId })).toMatchObject({ ok: true });
    const control = await cluster.sockets.connectPortal(c.url, customer);
    const ownerSeen = record<DeviceResponse>(owner, 'device:status');
    const watcherSeen = record<DeviceResponse>(watcher, 'device:status');
    const controlSeen = record<DeviceResponse>(control, 'device:status');
    expect(owner.recovered).toBe(false);

    // A first event gives each client an offset in the stream to recover from.
    const agent = await cluster.sockets.connectAgent(a.url, credentials);
    await eventually(
      'both portals saw the device online',
      () => Promise.resolve([ownerSeen.length, watcherSeen.length]),
      (counts) => counts.every((count) => count === 1),
    );

    const drops = [owner, watcher].map((socket) => disconnection(socket));
    const returns = [owner, watcher].map(reconnection);
    for (const socket of [owner, watcher]) socket.io.engine.close();
    // The client's own reason; the server sees "transport close", a reason it keeps the session for.
    expect(await Promise.all(drops)).toEqual(['forced close', 'forced close']);

    agent.disconnect();
    await eventually(
      'the control portal saw the device offline',
      () => Promise.resolve(controlSeen.map(({ payload }) => payload.presence.state)),
      (states) => states.includes('offline'),
    );
    const emittedAt = controlSeen.at(-1)?.at ?? Number.NaN;
    const [ownerBack, watcherBack] = await Promise.all(returns);
    // The status went out while both were away: only recovery can bring it to them.
    expect(emittedAt).toBeLessThan(Math.min(ownerBack ?? 0, watcherBack ?? 0));
    expect(owner.recovered).toBe(true);
    expect(watcher.recovered).toBe(true);
    await eventually(
      'both portals received the missed offline status',
      () =>
        Promise.resolve(
          [ownerSeen, watcherSeen].map((seen) => seen.map(({ payload }) => payload.presence.state)),
        ),
      (states) => states.every((list) => list.join() === 'online,offline'),
    );

    // Rooms came back too: the customer room (owner) and the subscription (watcher) get live events.
    await cluster.sockets.connectAgent(b.url, credentials);
    await eventually(
      'both recovered portals saw the device online again',
      () => Promise.resolve([ownerSeen.length, watcherSeen.length]),
      (counts) => counts.every((count) => count === 3),
    );
    // The recovered subscription still counts against SOCKET_MAX_SUBSCRIPTIONS (1 here).
    const other = await cluster.createDevice(customer);
    expect(await ask(watcher, 'device:subscribe', { deviceId: other.device.id })).toMatchObject({
      ok: false,
      error: { code: 'too_many_subscriptions' },
    });
    for (const instance of [a, b, c]) expect((await request(`${instance.url}/health/live`)).status).toBe(200);
  });
});

import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createDevToken } from '../../src/auth/dev-token';
import { destroyOpenConnections } from '../../src/common/http/connection-limits';
import { loadConfig } from '../../src/config/app-config';
import { type DeviceResponse } from '../../src/devices/dto/device.response';
import { DEVICE_STATUS, watchersOf } from '../../src/devices/devices.events';
import { RealtimeService } from '../../src/realtime/realtime.service';
import {
  assertBuilt,
  BARE_ENV,
  BUILT_MAIN,
  readyOrOutput,
  ROOT,
  START_DEADLINE_MS,
} from '../support/built-gateway';
import { ManagedProcess } from '../support/child-process';
import { findFreePort } from '../support/free-port';
import { bearer, type GatewayInstance, request, startGatewayInstance } from '../support/gateway-instance';
import { makeDataDir } from '../support/in-process-app';
import { disconnection, nextEvent, SocketClients } from '../support/socket-clients';

type Credentials = { deviceId: string; secret: string };

async function createDevice(url: string, token: string): Promise<Credentials> {
  const created = await request<{ credentials: Credentials }>(`${url}/v1/devices`, {
    method: 'POST',
    authorization: bearer(token),
    body: { name: 'pi' },
  });
  return created.body.credentials;
}

/**
 * docs/guide.md#socketio, README.md#running-modes: when an instance stops, its sockets are told `connection:closing { reason:
 * "shutdown" }`, then closed with a reason agents reconnect on (a transport close, which socket.io-client
 * retries by itself), not a server disconnect (which it does not).
 */
describe('sockets when an instance shuts down', () => {
  const dataDirs: string[] = [];
  const processes: ManagedProcess[] = [];
  const sockets = new SocketClients();
  let gateway: GatewayInstance | undefined;

  function dataDir(): string {
    const directory = makeDataDir();
    dataDirs.push(directory);
    return directory;
  }

  afterAll(async () => {
    sockets.closeAll();
    await gateway?.close().catch(() => undefined);
    await Promise.all(processes.map((child) => child.stop('SIGKILL')));
    for (const directory of dataDirs) rmSync(directory, { recursive: true, force: true });
  });

  it('tells agent and portal sockets "shutdown", then closes them at the transport, so clients reconnect elsewhere', async () => {
    const directory = dataDir();
    gateway = await startGatewayInstance(loadConfig({ DATA_DIR: directory, LOG_LEVEL: 'silent' }));
    const instance = gateway;
    const token = await createDevToken(directory, { sub: randomUUID() });
    const agent = await sockets.connectAgent(instance.url, await createDevice(instance.url, token));
    const portal = await sockets.connectPortal(instance.url, token);
    const agentTold = nextEvent(agent, 'connection:closing', () => true, 10_000);
    const portalTold = nextEvent(portal, 'connection:closing', () => true, 10_000);
    const agentClosed = disconnection(agent, 10_000);
    const portalClosed = disconnection(portal, 10_000);

    await instance.close();
    gateway = undefined;

    expect(await agentTold).toEqual({ reason: 'shutdown' });
    expect(await portalTold).toEqual({ reason: 'shutdown' });
    expect(await agentClosed).toBe('transport close');
    expect(await portalClosed).toBe('transport close');
  });

  it('still tells a socket whose connection is busy writing an earlier packet', async () => {
    const directory = dataDir();
    gateway = await startGatewayInstance(loadConfig({ DATA_DIR: directory, LOG_LEVEL: 'silent' }));
    const instance = gateway;
    const customerId = randomUUID();
    const portal = await sockets.connectPortal(
      instance.url,
      await createDevToken(directory, { sub: customerId }),
    );
    const events: string[] = [];
    portal.onAny((event: string) => events.push(event));
    const told = nextEvent(portal, 'connection:closing', () => true, 10_000);
    const closed = disconnection(portal, 10_000);
    // Large enough that the server is still writing it when the shutdown is announced: the announcement
    // waits in the connection's queue, which the transport close would otherwise discard.
    const now = new Date().toISOString();
    const bulky: DeviceResponse = {
      id: randomUUID(),
      customerId,
      name: 'x'.repeat(8 * 1024 * 1024),
      serial: null,
      status: 'active',
      agentVersion: null,
      hardware: null,
      capabilities: [],
      registeredAt: null,
      createdAt: now,
      updatedAt: now,
      presence: { state: 'online', lastSeenAt: now, lastHeartbeat: null },
    };

    instance.app.get(RealtimeService).toPortal(watchersOf(bulky), DEVICE_STATUS, bulky);
    await instance.close();
    gateway = undefined;

    expect(await told).toEqual({ reason: 'shutdown' });
    expect(await closed).toBe('transport close');
    expect(events).toEqual(['device:status', 'connection:closing']);
  });

  it('does not let a client that stopped reading hold the shutdown', async () => {
    const directory = dataDir();
    gateway = await startGatewayInstance(loadConfig({ DATA_DIR: directory, LOG_LEVEL: 'silent' }));
    const instance = gateway;
    const customerId = randomUUID();
    const portal = await sockets.connectPortal(
      instance.url,
      await createDevToken(directory, { sub: customerId }),
    );
    // A frozen device or a stalled link: the client's TCP socket reads nothing more.
    const transport = portal.io.engine.transport as unknown as { ws: { _socket: { pause(): void } } };
    transport.ws._socket.pause();
    const now = new Date().toISOString();
    const huge: DeviceResponse = {
      id: randomUUID(),
      customerId,
      name: 'x'.repeat(32 * 1024 * 1024),
      serial: null,
      status: 'active',
      agentVersion: null,
      hardware: null,
      capabilities: [],
      registeredAt: null,
      createdAt: now,
      updatedAt: now,
      presence: { state: 'online', lastSeenAt: now, lastHeartbeat: null },
    };
    instance.app.get(RealtimeService).toPortal(watchersOf(huge), DEVICE_STATUS, huge);

    // What SIGTERM's grace period does near its end (graceful-shutdown.ts), here a second into the close.
    const startedAt = Date.now();
    const abort = setTimeout(() => destroyOpenConnections(instance.app.getHttpServer()), 1_000);
    await instance.close();
    clearTimeout(abort);
    gateway = undefined;

    expect(Date.now() - startedAt).toBeLessThan(5_000);
  }, 30_000);

  it(
    'tells the sockets of a gateway process "shutdown" when it receives SIGTERM',
    async () => {
      assertBuilt();
      const directory = dataDir();
      const port = await findFreePort();
      const url = `http://127.0.0.1:${port}`;
      const started = new ManagedProcess(process.execPath, [BUILT_MAIN], {
        env: { ...BARE_ENV, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: directory, LOG_LEVEL: 'warn' },
        cwd: ROOT,
      });
      processes.push(started);
      await readyOrOutput(started, url, 'the built gateway serves');
      const token = await createDevToken(directory, { sub: randomUUID() });
      const agent = await sockets.connectAgent(url, await createDevice(url, token));
      const portal = await sockets.connectPortal(url, token);
      const agentTold = nextEvent(agent, 'connection:closing', () => true, 20_000);
      const portalTold = nextEvent(portal, 'connection:closing', () => true, 20_000);
      const agentClosed = disconnection(agent, 20_000);

      started.signal('SIGTERM');

      expect(await agentTold).toEqual({ reason: 'shutdown' });
      expect(await portalTold).toEqual({ reason: 'shutdown' });
      expect(await agentClosed).toBe('transport close');
      expect(await started.waitForExit(20_000)).toEqual({ code: 0, signal: null });
    },
    START_DEADLINE_MS + 45_000,
  );
});

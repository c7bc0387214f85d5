import { rmSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { type OnApplicationShutdown } from '@nestjs/common';
import { type DeviceRecord } from '../../../src/devices/device';
import { DeviceRepository } from '../../../src/devices/device.repository';
import { DevicesService } from '../../../src/devices/devices.service';
import { SqlExecutor } from '../../../src/infra/database/sql/sql-executor';
import { eventually } from '../../support/eventually';
import { type InProcessApp, makeDataDir, startInProcessApp } from '../../support/in-process-app';
import { customerPrincipal } from '../../support/principals';
import { ask, SocketClients } from '../../support/socket-clients';
import { createTestDatabase, type TestDatabase } from '../../support/test-database';

/** Long enough that a read right after an answer comes before the flush, even on a loaded machine. */
const FLUSH_INTERVAL_MS = 1500;
/** What a flush may take beyond its interval here: the write itself, and this test's polling. */
const WRITE_ALLOWANCE_MS = 500;

type Credentials = { deviceId: string; secret: string };

/**
 * Presence writes on a real gateway: transitions reach the database before the answer, throttled
 * heartbeat payloads within one PRESENCE_FLUSH_INTERVAL_MS after it, in a batch that leaves the state a
 * transition wrote meanwhile alone, and the payloads still queued at shutdown before the database closes.
 */
describe.each(['embedded', 'postgres'] as const)('presence writes on the %s backend', (backend) => {
  const sockets = new SocketClients();
  const customer = customerPrincipal();
  let database: TestDatabase | undefined;
  const started: InProcessApp[] = [];

  beforeAll(async () => {
    if (backend === 'postgres') database = await createTestDatabase();
  });

  afterAll(async () => {
    sockets.closeAll();
    for (const gateway of started.splice(0)) await gateway.app.close();
    await database?.drop();
  });

  async function startGateway(flushIntervalMs: number, dataDir: string): Promise<InProcessApp> {
    const env: Record<string, string> = {
      LOG_LEVEL: 'silent',
      PRESENCE_FLUSH_INTERVAL_MS: String(flushIntervalMs),
    };
    if (database) {
      Object.assign(env, {
        DATA_BACKEND: 'postgres',
        DATABASE_URL: database.url,
        SUPABASE_URL: 'http://127.0.0.1:9/unused-by-this-suite',
        DEVICE_SECRET_PEPPER: 'test-pepper-0123456789abcdef0123456789abcdef',
      });
    }
    const gateway = await startInProcessApp({ env, dataDir });
    started.push(gateway);
    await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    return gateway;
  }

  async function stop(gateway: InProcessApp): Promise<void> {
    started.splice(started.indexOf(gateway), 1);
    await gateway.app.close();
  }

  const urlOf = (gateway: InProcessApp): string => {
    const address = gateway.app.getHttpServer().address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    return `http://127.0.0.1:${address.port}`;
  };

  async function registeredDevice(gateway: InProcessApp): Promise<Credentials> {
    const { credentials } = await gateway.app.get(DevicesService).create(customer, { name: 'batched pi' });
    const registered = await agentCall(gateway, credentials, '/v1/agent/register', {
      agentVersion: '1.0.0',
      capabilities: ['ping'],
    });
    expect(registered).toBe(200);
    return credentials;
  }

  async function agentCall(
    gateway: InProcessApp,
    { deviceId, secret }: Credentials,
    url: string,
    body: unknown,
  ): Promise<number> {
    const response = await gateway.app.inject({
      method: 'POST',
      url,
      headers: {
        authorization: `Basic ${Buffer.from(`${deviceId}:${secret}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      payload: JSON.stringify(body),
    });
    return response.statusCode;
  }

  const stored = (gateway: InProcessApp, deviceId: string): Promise<DeviceRecord | null> =>
    gateway.app.get(DeviceRepository).findById(deviceId);

  describe('while running', () => {
    let gateway: InProcessApp;
    const dataDir = makeDataDir();

    beforeAll(async () => {
      gateway = await startGateway(FLUSH_INTERVAL_MS, dataDir);
    });

    afterAll(async () => {
      sockets.closeAll();
      await stop(gateway);
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('writes a transition before the answer, and the heartbeat payload within one flush interval after it', async () => {
      const credentials = await registeredDevice(gateway);
      // The registration's sign took the device online: written before the answer.
      expect(await stored(gateway, credentials.deviceId)).toMatchObject({
        presenceState: 'online',
        lastSeenAt: expect.any(Date) as Date,
      });

      const payload = { uptimeSec: 4242, agentVersion: '1.1.0', metrics: { cpuPct: 12.5 } };
      expect(await agentCall(gateway, credentials, '/v1/agent/heartbeat', payload)).toBe(200);
      const answeredAt = Date.now();
      // Off the heartbeat's path: the answer did not wait for the payload's write.
      expect(await stored(gateway, credentials.deviceId)).toMatchObject({
        lastHeartbeat: null,
        agentVersion: '1.0.0',
      });

      const written = await eventually(
        'the heartbeat payload is written',
        () => stored(gateway, credentials.deviceId),
        (row) => isDeepStrictEqual(row?.lastHeartbeat, payload),
        { timeoutMs: FLUSH_INTERVAL_MS + WRITE_ALLOWANCE_MS, intervalMs: 20 },
      );
      expect(Date.now() - answeredAt).toBeLessThan(FLUSH_INTERVAL_MS + WRITE_ALLOWANCE_MS);
      expect(written).toMatchObject({ presenceState: 'online', agentVersion: '1.1.0' });
    });

    it('writes a socket close’s offline at once, and the payload queued before it without undoing it', async () => {
      const credentials = await registeredDevice(gateway);
      const socket = await sockets.connectAgent(urlOf(gateway), credentials);
      const payload = { uptimeSec: 77 };
      expect(await ask(socket, 'heartbeat', payload)).toMatchObject({
        serverTime: expect.any(String) as string,
      });

      socket.disconnect();
      const offline = await eventually(
        'the close is recorded offline',
        () => stored(gateway, credentials.deviceId),
        (row) => row?.presenceState === 'offline',
        { timeoutMs: FLUSH_INTERVAL_MS, intervalMs: 10 },
      );
      // The transition went ahead of the payload queued before it.
      expect(offline?.lastHeartbeat).toBeNull();

      const written = await eventually(
        'the heartbeat payload is written',
        () => stored(gateway, credentials.deviceId),
        (row) => isDeepStrictEqual(row?.lastHeartbeat, payload),
        { timeoutMs: FLUSH_INTERVAL_MS + WRITE_ALLOWANCE_MS, intervalMs: 20 },
      );
      expect(written?.presenceState).toBe('offline');
    });
  });

  it('writes the payloads still queued at shutdown before the database connection closes', async () => {
    const dataDir = makeDataDir();
    try {
      // An interval no test waits for: only the shutdown can write the payload.
      const first = await startGateway(60_000, dataDir);
      const credentials = await registeredDevice(first);
      const payload = { uptimeSec: 5150 };
      expect(await agentCall(first, credentials, '/v1/agent/heartbeat', payload)).toBe(200);
      const write = jest.spyOn(first.app.get(DeviceRepository), 'recordSigns');
      const closeDatabase = jest.spyOn(
        first.app.get<SqlExecutor & OnApplicationShutdown>(SqlExecutor),
        'onApplicationShutdown',
      );

      await stop(first);

      expect(write).toHaveBeenCalledTimes(1);
      expect(closeDatabase).toHaveBeenCalledTimes(1);
      expect(write.mock.invocationCallOrder[0]).toBeLessThan(closeDatabase.mock.invocationCallOrder[0]!);
      await expect(write.mock.results[0]?.value).resolves.toBeUndefined();
      const second = await startGateway(60_000, dataDir);
      const afterRestart = await stored(second, credentials.deviceId);
      await stop(second);
      expect(afterRestart).toMatchObject({ lastHeartbeat: payload });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

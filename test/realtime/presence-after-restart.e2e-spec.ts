import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createDevToken } from '../../src/auth/dev-token';
import { type AppConfig, loadConfig } from '../../src/config/app-config';
import { type DeviceResponse } from '../../src/devices/dto/device.response';
import { eventually, holdsFor } from '../support/eventually';
import {
  basic,
  bearer,
  type GatewayInstance,
  request,
  startGatewayInstance,
} from '../support/gateway-instance';
import { makeDataDir } from '../support/in-process-app';
import { record, SocketClients } from '../support/socket-clients';

const DEVICES = 20;
/** Long enough for a restart of the embedded gateway (PGlite included) to fit within the deadlines. */
const HEARTBEAT_INTERVAL_SEC = 3;
/** Offline after 3 heartbeat intervals of silence (docs/guide.md#devices-and-presence). */
const OFFLINE_AFTER_MS = 3 * HEARTBEAT_INTERVAL_SEC * 1000;

type Credentials = { deviceId: string; secret: string };

/**
 * The default mode (embedded + memory) keeps hot presence in the process, so a restart loses it while the
 * database still says `online`. The restarted gateway rebuilds the deadlines from the database: the
 * devices that were online go offline on time and say so on the portal socket, and a device that
 * reconnects in time stays online without a word.
 */
describe('presence after the embedded gateway restarts', () => {
  const dataDir = makeDataDir();
  const sockets = new SocketClients();
  const customer = randomUUID();
  let config: AppConfig;
  let gateway: GatewayInstance | undefined;

  beforeAll(() => {
    config = loadConfig({
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      HEARTBEAT_INTERVAL_SEC: String(HEARTBEAT_INTERVAL_SEC),
      HEARTBEAT_PERSIST_INTERVAL_SEC: '1',
      PRESENCE_SWEEP_INTERVAL_MS: '100',
    });
  });

  afterAll(async () => {
    sockets.closeAll();
    await gateway?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function list(instance: GatewayInstance, token: string, state?: string): Promise<DeviceResponse[]> {
    const query = state === undefined ? '' : `&state=${state}`;
    const response = await request<{ items: DeviceResponse[] }>(
      `${instance.url}/v1/devices?limit=100${query}`,
      {
        authorization: bearer(token),
      },
    );
    expect(response.status).toBe(200);
    return response.body.items;
  }

  it('takes devices that were online offline on time after a restart, with one status each', async () => {
    const first = await startGatewayInstance(config);
    gateway = first;
    const token = await createDevToken(dataDir, { sub: customer });
    const credentials: Credentials[] = [];
    for (let index = 0; index < DEVICES; index += 1) {
      const created = await request<{ credentials: Credentials }>(`${first.url}/v1/devices`, {
        method: 'POST',
        authorization: bearer(token),
        body: { name: `pi-${index}` },
      });
      expect(created.status).toBe(201);
      credentials.push(created.body.credentials);
    }
    const [returning, ...silent] = credentials as [Credentials, ...Credentials[]];
    await Promise.all(
      silent.map(async ({ deviceId, secret }) => {
        const beat = await request(`${first.url}/v1/agent/heartbeat`, {
          method: 'POST',
          authorization: basic(deviceId, secret),
          body: { uptimeSec: 5 },
        });
        expect(beat.status).toBe(200);
      }),
    );
    await sockets.connectAgent(first.url, returning);
    const before = await list(first, token);
    expect(before.map((device) => device.presence.state)).toEqual(Array(DEVICES).fill('online'));
    const lastSeenAt = new Map(
      before.map((device) => [device.id, Date.parse(device.presence.lastSeenAt ?? '')]),
    );

    // A stop closes agent sockets at the transport and leaves presence as it was, online everywhere.
    await first.close();
    gateway = undefined;
    const second = await startGatewayInstance(config);
    gateway = second;
    const portal = await sockets.connectPortal(second.url, token);
    const seen = record<DeviceResponse>(portal, 'device:status');
    await sockets.connectAgent(second.url, returning);

    const silentIds = silent.map(({ deviceId }) => deviceId);
    const statesOf = (deviceId: string): string[] =>
      seen.filter(({ payload }) => payload.id === deviceId).map(({ payload }) => payload.presence.state);
    await eventually(
      'the portal saw every silent device offline',
      () => Promise.resolve(silentIds.map(statesOf)),
      (states) => states.every((list) => list.includes('offline')),
      { timeoutMs: OFFLINE_AFTER_MS + 5000 },
    );
    for (const deviceId of silentIds) {
      // Offline once, perhaps stale before it (the stale deadline may have passed during the restart).
      expect([['offline'], ['stale', 'offline']]).toContainEqual(statesOf(deviceId));
      const offlineAt = seen.find(
        ({ payload }) => payload.id === deviceId && payload.presence.state === 'offline',
      )?.at;
      const silentFor = (offlineAt ?? 0) - (lastSeenAt.get(deviceId) ?? Number.NaN);
      expect(silentFor).toBeGreaterThanOrEqual(OFFLINE_AFTER_MS);
      expect(silentFor).toBeLessThan(OFFLINE_AFTER_MS + 1500);
    }
    expect(second.transitions.filter((t) => t.to === 'offline')).toHaveLength(silentIds.length);

    // The reconnected device is online past the others' offline deadline. It said nothing if it
    // reconnected before its stale deadline; otherwise it went stale meanwhile (perhaps before the portal
    // connected) and online again.
    await holdsFor(
      'the reconnected device to stay online',
      async () =>
        (await list(second, token)).find((device) => device.id === returning.deviceId)?.presence.state,
      (state) => state === 'online',
      1000,
    );
    expect([[], ['online'], ['stale', 'online']]).toContainEqual(statesOf(returning.deviceId));
    expect((await list(second, token, 'online')).map((device) => device.id)).toEqual([returning.deviceId]);
    expect((await list(second, token, 'offline')).map((device) => device.id).sort()).toEqual(
      [...silentIds].sort(),
    );
  }, 60_000);
});

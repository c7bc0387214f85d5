import { Logger } from '@nestjs/common';
import { InMemoryDeviceRepository } from '../../../test/support/in-memory-storage';
import { DependencyUnavailableError } from '../../common/errors/common.errors';
import { loadConfig } from '../../config/app-config';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { type DeviceRecord, type HeartbeatSign } from '../device';
import { HeartbeatFlusher } from './heartbeat-flusher';

const T0 = Date.parse('2026-12-01T12:00:00.000Z');
const INTERVAL_MS = 1000;
const MAX_ROWS = 3;

const config = loadConfig({
  LOG_LEVEL: 'silent',
  PRESENCE_FLUSH_INTERVAL_MS: String(INTERVAL_MS),
  PRESENCE_FLUSH_MAX_ROWS: String(MAX_ROWS),
});

const outage = () => new DependencyUnavailableError('database', new Error('connection refused'));

describe('HeartbeatFlusher', () => {
  let devices: InMemoryDeviceRepository;
  let metrics: MetricsService;
  let flusher: HeartbeatFlusher;
  let warnings: jest.SpyInstance;
  let infos: jest.SpyInstance;

  /** A heartbeat of `device` seen now, carrying `n`. */
  const beat = (device: DeviceRecord, n: number, agentVersion: string | null = null): HeartbeatSign => ({
    deviceId: device.id,
    seenAt: new Date(Date.now()),
    heartbeat: { n },
    agentVersion,
  });

  /** Each statement's payloads, as `device index: n`, easy to read in a failure. */
  const statements = (of: readonly DeviceRecord[]): string[][] =>
    devices.signBatches.map((batch) =>
      batch.map(
        (sign) => `${of.findIndex((device) => device.id === sign.deviceId)}: ${String(sign.heartbeat.n)}`,
      ),
    );

  /** The warnings logged so far, oldest first. */
  const warned = (): string[] => warnings.mock.calls.map((call: unknown[]) => String(call[0]));

  const failedWrites = async (): Promise<string | undefined> =>
    /^presence_write_failures_total (\d+)$/m.exec(await metrics.render())?.[1];

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    infos = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    devices = new InMemoryDeviceRepository();
    metrics = new MetricsService();
    flusher = new HeartbeatFlusher(config, devices, metrics);
  });

  afterEach(async () => {
    await flusher.onApplicationShutdown();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('writes nothing on the heartbeat’s path, then every queued payload in one statement an interval after the first', async () => {
    const [a, b] = [devices.put(), devices.put()] as [DeviceRecord, DeviceRecord];
    flusher.add(beat(a, 1));
    await jest.advanceTimersByTimeAsync(400);
    flusher.add(beat(b, 1));

    await jest.advanceTimersByTimeAsync(INTERVAL_MS - 401);
    expect(devices.signBatches).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);

    expect(statements([a, b])).toEqual([['0: 1', '1: 1']]);
    expect(devices.peek(a.id)).toMatchObject({ lastHeartbeat: { n: 1 }, lastSeenAt: new Date(T0) });
    expect(devices.peek(b.id)).toMatchObject({ lastHeartbeat: { n: 1 }, lastSeenAt: new Date(T0 + 400) });
    expect(flusher.queuedDevices).toBe(0);
    // Nothing queued, nothing written: no empty statements on a quiet gateway.
    await jest.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(devices.signBatches).toHaveLength(1);
  });

  it('keeps one payload per waiting device: the newest, with the agent version an older one named', async () => {
    const device = devices.put();
    const older = beat(device, 0, '0.9.0');
    await jest.advanceTimersByTimeAsync(10);
    flusher.add(beat(device, 1, '1.0.0'));
    await jest.advanceTimersByTimeAsync(10);
    flusher.add(beat(device, 2));
    // A sign seen before the one waiting (it took longer to get here) does not replace it.
    flusher.add(older);

    await flusher.flush();

    expect(devices.signBatches).toEqual([
      [{ deviceId: device.id, seenAt: new Date(T0 + 20), heartbeat: { n: 2 }, agentVersion: '1.0.0' }],
    ]);
  });

  it('writes at once when PRESENCE_FLUSH_MAX_ROWS devices wait', async () => {
    const all = Array.from({ length: MAX_ROWS + 1 }, () => devices.put());
    for (const device of all.slice(0, MAX_ROWS - 1)) flusher.add(beat(device, 1));
    await jest.advanceTimersByTimeAsync(0);
    expect(devices.signBatches).toEqual([]);

    flusher.add(beat(all[MAX_ROWS - 1]!, 1));
    await jest.advanceTimersByTimeAsync(0);
    expect(statements(all)).toEqual([['0: 1', '1: 1', '2: 1']]);

    flusher.add(beat(all[MAX_ROWS]!, 1));
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(statements(all)).toEqual([['0: 1', '1: 1', '2: 1'], ['3: 1']]);
  });

  it('holds the newest payload per device through an outage, warning once and counting each failed write, and writes them all when the database is back', async () => {
    const all = Array.from({ length: 5 }, () => devices.put());
    const write = jest.spyOn(devices, 'recordSigns');
    write.mockRejectedValue(outage());
    for (const device of all.slice(0, 2)) flusher.add(beat(device, 1));

    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(write).toHaveBeenCalledTimes(1);
    expect(flusher.queuedDevices).toBe(2);
    // Many heartbeats during the outage: still one entry per device, and no flush before its interval.
    for (let n = 2; n <= 200; n += 1) for (const device of all) flusher.add(beat(device, n));
    expect(flusher.queuedDevices).toBe(all.length);
    await jest.advanceTimersByTimeAsync(INTERVAL_MS - 1);
    expect(write).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(write).toHaveBeenCalledTimes(2);

    expect(warned()).toEqual([expect.stringContaining('connection refused')]);
    expect(await failedWrites()).toBe('2');

    write.mockRestore();
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    // Five devices, three per statement: both statements in one flush, the newest payload of each.
    const written = statements(all);
    expect(written.map((statement) => statement.length)).toEqual([3, 2]);
    expect(written.flat().sort()).toEqual(['0: 200', '1: 200', '2: 200', '3: 200', '4: 200']);
    expect(flusher.queuedDevices).toBe(0);
    expect(infos).toHaveBeenCalledWith('Writing heartbeat payloads again: the database is back');
    expect(warned()).toHaveLength(1);
    expect(await failedWrites()).toBe('2');
  });

  it('leaves a payload that arrives during a write for the next flush, after the older one it replaces', async () => {
    const device = devices.put();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const write = devices.recordSigns.bind(devices);
    jest.spyOn(devices, 'recordSigns').mockImplementationOnce(async (signs) => {
      await held;
      await write(signs);
    });
    flusher.add(beat(device, 1));
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);

    flusher.add(beat(device, 2));
    expect(flusher.queuedDevices).toBe(1);
    release();
    await jest.advanceTimersByTimeAsync(0);
    expect(statements([device])).toEqual([['0: 1']]);

    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(statements([device])).toEqual([['0: 1'], ['0: 2']]);
    expect(devices.peek(device.id)?.lastHeartbeat).toEqual({ n: 2 });
  });

  it('drops payloads the database refuses, which no retry would change, and goes on with later ones', async () => {
    const [refused, later] = [devices.put(), devices.put()] as [DeviceRecord, DeviceRecord];
    jest.spyOn(devices, 'recordSigns').mockRejectedValueOnce(new Error('invalid input syntax for type json'));
    flusher.add(beat(refused, 1));

    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(flusher.queuedDevices).toBe(0);
    expect(warned()).toEqual([expect.stringContaining(`Dropped the heartbeat payload of ${refused.id}`)]);
    expect(await failedWrites()).toBe('1');

    flusher.add(beat(later, 1));
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(devices.peek(later.id)?.lastHeartbeat).toEqual({ n: 1 });
    expect(devices.peek(refused.id)?.lastHeartbeat).toBeNull();
  });

  it('writes the rest of a batch one by one when the database refuses a row in it', async () => {
    const [good, refused, alsoGood] = [devices.put(), devices.put(), devices.put()] as [
      DeviceRecord,
      DeviceRecord,
      DeviceRecord,
    ];
    const write = devices.recordSigns.bind(devices);
    jest
      .spyOn(devices, 'recordSigns')
      .mockImplementation((signs) =>
        signs.some((sign) => sign.deviceId === refused.id)
          ? Promise.reject(new Error('invalid input syntax for type json'))
          : write(signs),
      );
    for (const device of [good, refused, alsoGood]) flusher.add(beat(device, 1));

    await jest.advanceTimersByTimeAsync(INTERVAL_MS);

    expect(flusher.queuedDevices).toBe(0);
    expect(devices.peek(good.id)?.lastHeartbeat).toEqual({ n: 1 });
    expect(devices.peek(alsoGood.id)?.lastHeartbeat).toEqual({ n: 1 });
    expect(devices.peek(refused.id)?.lastHeartbeat).toBeNull();
    expect(warned()).toEqual([expect.stringContaining(`Dropped the heartbeat payload of ${refused.id}`)]);
  });

  it('writes what waits at shutdown without waiting for the interval, and says what it could not write', async () => {
    const [written, unwritten] = [devices.put(), devices.put()] as [DeviceRecord, DeviceRecord];
    flusher.add(beat(written, 1));
    await flusher.onApplicationShutdown();
    expect(devices.peek(written.id)?.lastHeartbeat).toEqual({ n: 1 });

    const stopping = new HeartbeatFlusher(config, devices, metrics);
    jest.spyOn(devices, 'recordSigns').mockRejectedValue(outage());
    stopping.add(beat(unwritten, 1));
    await stopping.onApplicationShutdown();
    expect(warned().at(-1)).toBe(
      'Stopping with the heartbeat payloads of 1 devices unwritten: the database is unavailable',
    );
    // Stopped: no timer retries against a database that is closing.
    await jest.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(devices.recordSigns).toHaveBeenCalledTimes(1);
  });
});

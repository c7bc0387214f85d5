import { Logger } from '@nestjs/common';
import { InMemoryDeviceRepository } from '../../../test/support/in-memory-storage';
import { loadConfig } from '../../config/app-config';
import { type DeviceRecord } from '../device';
import { MemoryPresenceStore } from './memory-presence.store';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { HeartbeatFlusher } from './heartbeat-flusher';
import { type PresenceTransition, PresenceEvents } from './presence-events';
import { PresenceService } from './presence.service';

const T0 = Date.parse('2026-12-01T12:00:00.000Z');
/** HEARTBEAT_INTERVAL_SEC=10: stale after 15 s of silence, offline after 30 s. */
const STALE_AFTER_MS = 15_000;
const OFFLINE_AFTER_MS = 30_000;
const PERSIST_INTERVAL_MS = 20_000;

const config = loadConfig({
  LOG_LEVEL: 'silent',
  HEARTBEAT_INTERVAL_SEC: '10',
  HEARTBEAT_PERSIST_INTERVAL_SEC: String(PERSIST_INTERVAL_MS / 1000),
  PRESENCE_SWEEP_INTERVAL_MS: '1000',
});

/** The moves of a list of transitions, easy to read in a failure. */
const moves = (transitions: readonly PresenceTransition[]): string[] =>
  transitions.map(({ from, to }) => `${from} → ${to}`);

describe('PresenceService', () => {
  let devices: InMemoryDeviceRepository;
  let store: MemoryPresenceStore;
  let device: DeviceRecord;
  const running: { presence: PresenceService; heartbeats: HeartbeatFlusher }[] = [];

  /** One gateway instance's presence service on the shared store and database, with what it announced. */
  function instance(): { presence: PresenceService; announced: PresenceTransition[] } {
    const events = new PresenceEvents();
    const announced: PresenceTransition[] = [];
    events.subscribe((transition) => announced.push(transition));
    const metrics = new MetricsService();
    const heartbeats = new HeartbeatFlusher(config, devices, metrics);
    const presence = new PresenceService(config, store, devices, events, metrics, heartbeats);
    running.push({ presence, heartbeats });
    return { presence, announced };
  }

  const ref = () => ({ id: device.id, customerId: device.customerId });
  const recorded = () => devices.peek(device.id);
  /** What the database holds once every instance wrote the heartbeat payloads it queued. */
  const recordedAfterFlush = async () => {
    for (const { heartbeats } of running) await heartbeats.flush();
    return recorded();
  };

  beforeEach(async () => {
    jest.useFakeTimers({ now: T0 });
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    devices = new InMemoryDeviceRepository();
    store = new MemoryPresenceStore();
    device = devices.put({ status: 'active' });
    // The memory store starts as one to rebuild; the first sweep does that, before the test's clock runs.
    await instance().presence.sweep(T0);
  });

  afterEach(async () => {
    for (const { presence, heartbeats } of running.splice(0)) {
      await presence.onApplicationShutdown();
      await heartbeats.onApplicationShutdown();
    }
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('moves a silent device online → stale → offline, announcing and recording each move once', async () => {
    const { presence, announced } = instance();
    await presence.connect(ref());
    expect(recorded()?.presenceState).toBe('online');

    await presence.sweep(T0 + STALE_AFTER_MS - 1);
    expect(moves(announced)).toEqual(['unknown → online']);

    await presence.sweep(T0 + STALE_AFTER_MS);
    await presence.sweep(T0 + STALE_AFTER_MS);
    expect(moves(announced)).toEqual(['unknown → online', 'online → stale']);
    expect(recorded()?.presenceState).toBe('stale');

    await presence.sweep(T0 + OFFLINE_AFTER_MS - 1);
    expect(announced).toHaveLength(2);
    await presence.sweep(T0 + OFFLINE_AFTER_MS);
    await presence.sweep(T0 + 10 * OFFLINE_AFTER_MS);

    expect(announced).toEqual([
      expect.objectContaining({
        deviceId: device.id,
        customerId: device.customerId,
        from: 'unknown',
        to: 'online',
      }),
      expect.objectContaining({
        from: 'online',
        to: 'stale',
        lastSeenAt: new Date(T0),
        at: new Date(T0 + STALE_AFTER_MS),
      }),
      expect.objectContaining({
        from: 'stale',
        to: 'offline',
        lastSeenAt: new Date(T0),
        at: new Date(T0 + OFFLINE_AFTER_MS),
      }),
    ]);
    expect(recorded()?.presenceState).toBe('offline');
  });

  it('judges presence at read time, between two sweeps', async () => {
    const { presence } = instance();
    await presence.connect(ref());

    jest.setSystemTime(T0 + STALE_AFTER_MS);
    expect((await presence.views([device]))[0]?.state).toBe('stale');
    jest.setSystemTime(T0 + OFFLINE_AFTER_MS);
    expect((await presence.views([device]))[0]).toEqual({
      state: 'offline',
      lastSeenAt: new Date(T0),
      lastHeartbeat: null,
    });
  });

  it('sweeps on its own every PRESENCE_SWEEP_INTERVAL_MS once the application has started', async () => {
    const { presence, announced } = instance();
    await presence.connect(ref());
    presence.onApplicationBootstrap();

    await jest.advanceTimersByTimeAsync(STALE_AFTER_MS - 1);
    expect(moves(announced)).toEqual(['unknown → online']);
    await jest.advanceTimersByTimeAsync(config.PRESENCE_SWEEP_INTERVAL_MS);
    expect(moves(announced)).toEqual(['unknown → online', 'online → stale']);
    await jest.advanceTimersByTimeAsync(OFFLINE_AFTER_MS);
    expect(moves(announced)).toEqual(['unknown → online', 'online → stale', 'stale → offline']);

    await presence.onApplicationShutdown();
    await presence.recordSign(ref());
    await jest.advanceTimersByTimeAsync(OFFLINE_AFTER_MS);
    // Stopped: the sign counts, but no sweep judges the silence after it.
    expect(moves(announced).slice(3)).toEqual(['offline → online']);
  });

  it('makes each transition exactly once when two instances sweep the shared store at the same moment', async () => {
    const a = instance();
    const b = instance();
    await a.presence.connect(ref());

    for (const at of [T0 + STALE_AFTER_MS, T0 + OFFLINE_AFTER_MS]) {
      await Promise.all([a.presence.sweep(at), b.presence.sweep(at), a.presence.sweep(at)]);
    }

    expect(moves([...a.announced, ...b.announced])).toEqual([
      'unknown → online',
      'online → stale',
      'stale → offline',
    ]);
    expect(devices.updates.filter((update) => update.changes.presenceState !== undefined)).toHaveLength(3);
  });

  it('brings a stale device back online on its next sign, once, and restarts its deadlines from that sign', async () => {
    const { presence, announced } = instance();
    await presence.connect(ref());
    await presence.sweep(T0 + STALE_AFTER_MS);

    jest.setSystemTime(T0 + 20_000);
    await presence.recordSign(ref());
    jest.setSystemTime(T0 + 21_000);
    await presence.recordSign(ref());
    await presence.sweep(T0 + 20_000 + STALE_AFTER_MS - 1);

    expect(moves(announced)).toEqual(['unknown → online', 'online → stale', 'stale → online']);
    expect(recorded()).toMatchObject({ presenceState: 'online', lastSeenAt: new Date(T0 + 20_000) });
    await presence.sweep(T0 + 21_000 + STALE_AFTER_MS);
    expect(moves(announced).at(-1)).toBe('online → stale');
  });

  it('lets a late disconnect of an older connection change nothing, and takes offline at the newest one’s close', async () => {
    const { presence, announced } = instance();
    const older = await presence.connect(ref());
    jest.setSystemTime(T0 + 1_000);
    const newer = await presence.connect(ref());
    expect(newer).toBeGreaterThan(older);

    await presence.disconnect(ref(), older);
    // A heartbeat still in flight on the replaced socket is not a sign of the device either.
    jest.setSystemTime(T0 + 5_000);
    await presence.recordSign(ref(), { epoch: older, heartbeat: { from: 'older' } });

    expect(moves(announced)).toEqual(['unknown → online']);
    expect(await presence.views([device])).toEqual([
      { state: 'online', lastSeenAt: new Date(T0 + 1_000), lastHeartbeat: null },
    ]);
    expect(recorded()?.presenceState).toBe('online');

    jest.setSystemTime(T0 + 6_000);
    await presence.disconnect(ref(), newer);
    await presence.disconnect(ref(), newer);
    expect(moves(announced)).toEqual(['unknown → online', 'online → offline']);
    expect(announced[1]).toMatchObject({ lastSeenAt: new Date(T0 + 1_000), at: new Date(T0 + 6_000) });
    expect(recorded()?.presenceState).toBe('offline');
    // Offline already: the sweep has no deadline left to judge.
    await presence.sweep(T0 + 10 * OFFLINE_AFTER_MS);
    expect(announced).toHaveLength(2);
  });

  it('writes the heartbeat payload and agent version at most once per HEARTBEAT_PERSIST_INTERVAL_SEC', async () => {
    const { presence } = instance();
    const epoch = await presence.connect(ref());
    // The clock runs, and with it the flushes that write what each persisted heartbeat queued.
    const beatAt = async (offset: number, n: number) => {
      await jest.advanceTimersByTimeAsync(T0 + offset - Date.now());
      await presence.recordSign(ref(), { epoch, heartbeat: { n }, agentVersion: `1.0.${n}` });
    };

    await beatAt(0, 1);
    await beatAt(10_000, 2);
    await beatAt(PERSIST_INTERVAL_MS - 1, 3);
    // Live readers see every heartbeat; the database only the throttled ones.
    expect((await presence.views([recorded()!]))[0]?.lastHeartbeat).toEqual({ n: 3 });
    await beatAt(PERSIST_INTERVAL_MS, 4);
    await beatAt(PERSIST_INTERVAL_MS + 1, 5);

    const stored = await recordedAfterFlush();
    const written = devices.signBatches
      .flat()
      .map((sign) => [sign.heartbeat, sign.agentVersion, sign.seenAt.getTime()]);
    expect(written).toEqual([
      [{ n: 1 }, '1.0.1', T0],
      [{ n: 4 }, '1.0.4', T0 + PERSIST_INTERVAL_MS],
    ]);
    expect(stored).toMatchObject({ lastHeartbeat: { n: 4 }, agentVersion: '1.0.4' });
  });

  it('records a heartbeat that brings a stale device back online, but not its payload before it is due', async () => {
    const { presence } = instance();
    const epoch = await presence.connect(ref());
    await presence.recordSign(ref(), { epoch, heartbeat: { n: 1 } });
    await presence.sweep(T0 + STALE_AFTER_MS);

    jest.setSystemTime(T0 + STALE_AFTER_MS + 1_000);
    await presence.recordSign(ref(), { epoch, heartbeat: { n: 2 }, agentVersion: '2.0.0' });

    expect(devices.updates.at(-1)?.changes).toEqual({
      presenceState: 'online',
      lastSeenAt: new Date(T0 + STALE_AFTER_MS + 1_000),
    });
    expect(await recordedAfterFlush()).toMatchObject({
      presenceState: 'online',
      lastHeartbeat: { n: 1 },
      agentVersion: null,
    });
  });

  it('writes transitions at once and queued payloads with the next flush, which never undoes a transition', async () => {
    const { presence } = instance();
    const first = await presence.connect(ref());
    jest.setSystemTime(T0 + 1_000);
    await presence.recordSign(ref(), { epoch: first, heartbeat: { n: 1 }, agentVersion: '1.0.0' });
    // Off the heartbeat's path: nothing of the payload is written yet.
    expect(recorded()).toMatchObject({
      presenceState: 'online',
      lastSeenAt: new Date(T0),
      lastHeartbeat: null,
    });

    jest.setSystemTime(T0 + 2_000);
    await presence.disconnect(ref(), first);
    expect(recorded()?.presenceState).toBe('offline');
    jest.setSystemTime(T0 + 3_000);
    await presence.connect(ref());
    expect(recorded()).toMatchObject({ presenceState: 'online', lastSeenAt: new Date(T0 + 3_000) });

    expect(await recordedAfterFlush()).toMatchObject({
      presenceState: 'online',
      lastSeenAt: new Date(T0 + 3_000),
      lastHeartbeat: { n: 1 },
      agentVersion: '1.0.0',
    });
  });

  it('announces nothing for a device revoked before its deadline came', async () => {
    const { presence, announced } = instance();
    await presence.connect(ref());
    await devices.revoke(device.id);

    await presence.sweep(T0 + STALE_AFTER_MS);
    await presence.sweep(T0 + OFFLINE_AFTER_MS);

    expect(moves(announced)).toEqual(['unknown → online']);
    expect(await store.due(T0 + 100 * OFFLINE_AFTER_MS, 10)).toEqual([]);
  });

  it('does not announce online again for a device the database has online when the store lost it', async () => {
    const { presence, announced } = instance();
    await presence.connect(ref());
    await store.forget(device.id);

    jest.setSystemTime(T0 + 1_000);
    await presence.recordSign(ref());

    expect(moves(announced)).toEqual(['unknown → online']);
  });
});

import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { type DeviceRecord, type PresenceState } from '../device';
import { DeviceRepository } from '../device.repository';
import { MetricsService } from '../../infra/metrics/metrics.service';
import {
  type HotPresence,
  isLivePresence,
  LIVE_PRESENCE_STATES,
  nextDeadline,
  type PresenceSeed,
  type PresenceTiming,
  stateAt,
  timingFor,
} from './presence';
import { HeartbeatFlusher } from './heartbeat-flusher';
import { PresenceEvents } from './presence-events';
import { PresenceStore } from './presence.store';

/** The presence a client sees (Device.presence, docs/guide.md#devices-and-presence). */
export interface PresenceView {
  state: PresenceState;
  lastSeenAt: Date | null;
  lastHeartbeat: Record<string, unknown> | null;
}

export interface DeviceRef {
  id: string;
  customerId: string;
}

/** Devices handled per sweep; a backlog is worked off over the next sweeps. */
const SWEEP_BATCH = 1000;
/** Devices read from the database and seeded per step when the store is rebuilt. */
const RECOVERY_BATCH = 500;

/**
 * Presence (docs/guide.md#devices-and-presence): signs go to the hot store in one atomic step; every instance sweeps the shared
 * deadline set and moves silent devices online → stale → offline. A transition is made by exactly one
 * caller, published once on the internal bus and written to the database at once. Heartbeat payloads
 * reach the database at most once per HEARTBEAT_PERSIST_INTERVAL_SEC per device, written in batches off
 * the heartbeat's path (HeartbeatFlusher), which never touch the presence state a transition wrote.
 *
 * The hot state can be lost: the memory store with every restart, Redis with a restart, a flush, an
 * eviction or an expiry. Every sweep asks the store whether it is still whole (PresenceStore.
 * checkRecovery); when it is not, one instance rebuilds it from the devices the database records as
 * online or stale, with deadlines from their recorded last sign, so that they still go stale and offline
 * (each transition announced once) instead of staying online in the database for ever. A due device the
 * store no longer knows is rebuilt the same way, and a sign for a device the store does not know is
 * compared with the database's state, so that a lost store never announces a transition that did not
 * happen.
 */
@Injectable()
export class PresenceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PresenceService.name);
  private readonly timing: PresenceTiming;
  private readonly persistIntervalMs: number;
  private readonly instanceId = randomUUID();
  /**
   * Generation of the store's last recovery as this instance saw it; null while it knows the store lost
   * its data, undefined before its first look.
   */
  private knownGeneration: string | null | undefined;
  private readonly storeLostListeners = new Set<() => void>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopping = false;
  private recoveryFailing = false;

  constructor(
    private readonly config: AppConfig,
    private readonly store: PresenceStore,
    private readonly devices: DeviceRepository,
    private readonly events: PresenceEvents,
    private readonly metrics: MetricsService,
    private readonly heartbeats: HeartbeatFlusher,
  ) {
    this.timing = timingFor(config.HEARTBEAT_INTERVAL_SEC);
    this.persistIntervalMs = config.HEARTBEAT_PERSIST_INTERVAL_SEC * 1000;
  }

  onApplicationBootstrap(): void {
    // The first sweep runs at once: after a restart of the memory store (or a Redis that lost its data
    // meanwhile) it rebuilds the deadlines that died with the old process.
    this.startSweep();
    this.sweepTimer = setInterval(() => {
      this.startSweep();
    }, this.config.PRESENCE_SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweepTimer);
    await this.sweeping;
  }

  /**
   * Calls `listener` when this instance finds that the store lost its hot state, so that whoever holds
   * live connections signs for them again (a live socket is a sign) before the rebuilt deadlines, which
   * start from what the database last recorded, judge them.
   */
  onStoreLost(listener: () => void): () => void {
    this.storeLostListeners.add(listener);
    return () => this.storeLostListeners.delete(listener);
  }

  /**
   * Records a sign of life. `heartbeat` is the validated heartbeat body; `epoch` the sign's connection
   * epoch (Socket.IO), so that a late sign of a replaced connection changes nothing.
   */
  async recordSign(
    device: DeviceRef,
    sign: { heartbeat?: Record<string, unknown>; agentVersion?: string; epoch?: number } = {},
  ): Promise<{ pendingCommands: number }> {
    const at = Date.now();
    const outcome = await this.store.applySign(
      {
        deviceId: device.id,
        at,
        heartbeat: sign.heartbeat === undefined ? undefined : JSON.stringify(sign.heartbeat),
        epoch: sign.epoch,
        persistIntervalMs: this.persistIntervalMs,
      },
      this.timing.staleAfterMs,
    );
    const answer = { pendingCommands: outcome.pendingCommands };
    if (!outcome.applied) return answer;
    if (outcome.persistDue && sign.heartbeat) {
      this.heartbeats.add({
        deviceId: device.id,
        seenAt: new Date(at),
        heartbeat: sign.heartbeat,
        agentVersion: sign.agentVersion ?? null,
      });
    }
    // Nearly every sign finds the device online: no transition, and no promise to wait for.
    if (outcome.previousState === 'online') return answer;
    const previousState = await this.previousOf(device.id, outcome.previousState);
    if (previousState !== 'online') {
      this.announce(device, previousState, 'online', at);
      await this.persist(device.id, { presenceState: 'online', lastSeenAt: new Date(at) });
    }
    return answer;
  }

  /**
   * Records the count of a device's queued commands, which its heartbeats answer with (pendingCommands).
   * Written by the delivery engine after each change of the device's queue: devices does not read
   * commands, and the heartbeat's hot path reads the count with the sign it records anyway.
   */
  async setPendingCommands(deviceId: string, count: number): Promise<void> {
    await this.store.setPendingCommands(deviceId, count);
  }

  /**
   * A new /agent connection: it takes the next epoch (returned) and counts as a sign. The caller tells
   * every instance, so that the device's older sockets are closed as replaced.
   */
  async connect(device: DeviceRef): Promise<number> {
    const at = Date.now();
    const connected = await this.store.connect(device.id, at, this.timing.staleAfterMs);
    const { epoch } = connected;
    const previousState = await this.previousOf(device.id, connected.previousState);
    if (previousState !== 'online') {
      this.announce(device, previousState, 'online', at);
      await this.persist(device.id, { presenceState: 'online', lastSeenAt: new Date(at) });
    }
    return epoch;
  }

  /**
   * The connection of `epoch` closed (docs/guide.md#devices-and-presence): the device is offline at once, unless a newer
   * connection took over, in which case this late close changes nothing.
   */
  async disconnect(device: DeviceRef, epoch: number): Promise<void> {
    const outcome = await this.store.disconnect(device.id, epoch);
    if (!outcome.applied) return;
    const at = Date.now();
    this.announce(device, outcome.previousState, 'offline', at, outcome.lastSeenAt ?? at);
    await this.persist(device.id, { presenceState: 'offline' });
  }

  /** Live presence of devices, falling back to what the database last recorded when the cache has none. */
  async views(devices: readonly DeviceRecord[]): Promise<PresenceView[]> {
    const hot = await this.store.get(devices.map((device) => device.id));
    const now = Date.now();
    return devices.map((device, index) => this.view(device, hot[index] ?? null, now));
  }

  async forget(deviceId: string): Promise<void> {
    await this.store.forget(deviceId);
  }

  /**
   * Rebuilds the store if it lost its data, then moves every device whose deadline passed; public so
   * tests can drive it with their own clock.
   */
  async sweep(now: number): Promise<void> {
    // A rebuilding that fails (the database or the cache is away) is retried by the next sweep, and the
    // deadlines the store does hold are worked off meanwhile; one warning per outage, not one per sweep.
    await this.recoverIfLost(now).then(
      () => {
        this.recoveryFailing = false;
      },
      (error: unknown) => {
        if (!this.recoveryFailing)
          this.logger.warn(`Could not check or rebuild the presence store: ${String(error)}`);
        this.recoveryFailing = true;
      },
    );
    const due = await this.store.due(now, SWEEP_BATCH);
    if (due.length === 0) return;
    const hot = await this.store.get(due);
    await Promise.all(
      due.map(async (deviceId, index) => {
        const current = hot[index];
        if (!current) {
          await this.reseed(deviceId, now);
          return;
        }
        const to = stateAt(current.lastSeenAt, now, this.timing);
        const deadline = nextDeadline(to, current.lastSeenAt, this.timing);
        const made = await this.store.transition(deviceId, current, to, deadline);
        if (!made || to === current.state) return;
        const device = await this.devices.findById(deviceId);
        if (!device || device.status === 'revoked') return;
        this.announce(device, current.state, to, now, current.lastSeenAt);
        await this.persist(deviceId, { presenceState: to });
      }),
    );
  }

  private startSweep(): void {
    this.sweeping ??= this.sweep(Date.now())
      .catch((error: unknown) => {
        this.logger.warn(`Presence sweep failed: ${String(error)}`);
      })
      .finally(() => {
        this.sweeping = undefined;
      });
  }

  /**
   * Asks the store whether it still holds the hot state and, when this instance claims the rebuilding,
   * seeds it from the database page by page, holding a lease that another instance takes over should
   * this one stop half way. The store is marked whole only when every page is in, so a loss during the
   * rebuilding (a second flush) leaves it to be rebuilt again.
   */
  private async recoverIfLost(now: number): Promise<void> {
    const recovery = await this.store.checkRecovery(this.instanceId, this.recoveryLeaseMs);
    if (recovery.state === 'intact') {
      // Another instance may have found the loss and rebuilt the store between two of this one's sweeps.
      const missedLoss =
        typeof this.knownGeneration === 'string' && this.knownGeneration !== recovery.generation;
      this.knownGeneration = recovery.generation;
      if (missedLoss) this.notifyStoreLost();
      return;
    }
    if (this.knownGeneration !== null) {
      this.knownGeneration = null;
      this.notifyStoreLost();
    }
    if (recovery.state === 'busy') return;
    let seeded = 0;
    let afterId: string | undefined;
    for (;;) {
      if (this.stopping) return;
      const page = await this.devices.listByPresence(LIVE_PRESENCE_STATES, {
        afterId,
        limit: RECOVERY_BATCH,
      });
      const seeds = page.flatMap((device) => {
        const seed = this.seedFor(device, now);
        return seed ? [seed] : [];
      });
      seeded += (await this.store.seed(seeds)).length;
      if (page.length < RECOVERY_BATCH) break;
      afterId = page.at(-1)?.id;
      if (!(await this.store.extendRecovery(this.instanceId, this.recoveryLeaseMs))) return;
    }
    const generation = randomUUID();
    if (!(await this.store.completeRecovery(this.instanceId, generation))) return;
    this.knownGeneration = generation;
    this.metrics.countPresenceRecovered(seeded);
    this.logger.log(
      `The presence store held no presence: rebuilt ${seeded} devices recorded online or stale from the database`,
    );
  }

  /** A due device the store no longer knows (an evicted or expired key): rebuilt if the database says live. */
  private async reseed(deviceId: string, now: number): Promise<void> {
    const device = await this.devices.findById(deviceId);
    const seed = device && device.status !== 'revoked' ? this.seedFor(device, now) : undefined;
    if (seed && (await this.store.seed([seed])).length > 0) return;
    // Nothing to rebuild (or a sign rebuilt it first): this call clears the deadline of a forgotten device.
    await this.store.transition(deviceId, { state: 'unknown', lastSeenAt: 0 }, 'unknown', null);
  }

  /**
   * The hot state a device recorded as online or stale gets back: its recorded state and last sign, and
   * the deadline they give. A deadline sooner than the grace is put off to it, so that every instance has
   * swept, noticed the loss and signed again for its live sockets before the device is judged.
   */
  private seedFor(device: DeviceRecord, now: number): PresenceSeed | undefined {
    const state = device.presenceState;
    if (!isLivePresence(state)) return undefined;
    const lastSeenAt = this.recordedLastSeenAt(device);
    const deadline = nextDeadline(state, lastSeenAt, this.timing) ?? now;
    return {
      deviceId: device.id,
      state,
      lastSeenAt,
      deadline: Math.max(deadline, now + this.recoveryGraceMs),
    };
  }

  /** A row recorded online always carries its last sign; its last change stands in should one not. */
  private recordedLastSeenAt(device: DeviceRecord): number {
    return (device.lastSeenAt ?? device.updatedAt).getTime();
  }

  /**
   * Every instance sweeps once per interval, so within this long each has noticed a loss and signed for
   * its live sockets; twice the interval leaves room for a sweep that was already under way.
   */
  private get recoveryGraceMs(): number {
    return 2 * this.config.PRESENCE_SWEEP_INTERVAL_MS;
  }

  /** Long enough for one step of the rebuilding: a page from the database, then a round trip to the store. */
  private get recoveryLeaseMs(): number {
    return 2 * (this.config.DATABASE_TIMEOUT_MS + this.config.REDIS_COMMAND_TIMEOUT_MS);
  }

  private notifyStoreLost(): void {
    for (const listener of this.storeLostListeners) {
      try {
        listener();
      } catch (error) {
        this.logger.error(`A presence store-loss listener failed: ${String(error)}`);
      }
    }
  }

  /**
   * What the store says the device was in before a sign, or, when the store no longer knows it (lost or
   * evicted), what the database recorded: a device the database has online is not announced online again.
   */
  private async previousOf(deviceId: string, stored: PresenceState): Promise<PresenceState> {
    if (stored !== 'unknown') return stored;
    try {
      return (await this.devices.findById(deviceId))?.presenceState ?? 'unknown';
    } catch (error) {
      this.logger.warn(`Could not read the recorded presence of ${deviceId}: ${String(error)}`);
      return 'unknown';
    }
  }

  /**
   * The state of a device the store does not know, from what the database recorded: an online or stale
   * row is judged by its last sign, so that a row whose deadline passed unseen (the store lost it) does not
   * read online; it never reads better than the row.
   */
  private recordedStateAt(device: DeviceRecord, now: number): PresenceState {
    if (!isLivePresence(device.presenceState)) return device.presenceState;
    const judged = stateAt(this.recordedLastSeenAt(device), now, this.timing);
    return device.presenceState === 'stale' && judged === 'online' ? 'stale' : judged;
  }

  private view(device: DeviceRecord, hot: HotPresence | null, now: number): PresenceView {
    if (!hot) {
      return {
        state: this.recordedStateAt(device, now),
        lastSeenAt: device.lastSeenAt,
        lastHeartbeat: device.lastHeartbeat,
      };
    }
    return {
      // Judged at read time, so a reader is exact even between two sweeps. A closed socket is offline at
      // once (docs/guide.md#devices-and-presence) although its last sign is recent; the next sign stores online again.
      state: hot.state === 'offline' ? 'offline' : stateAt(hot.lastSeenAt, now, this.timing),
      lastSeenAt: new Date(hot.lastSeenAt),
      lastHeartbeat:
        hot.heartbeat === null
          ? device.lastHeartbeat
          : (JSON.parse(hot.heartbeat) as Record<string, unknown>),
    };
  }

  private announce(
    device: DeviceRef,
    from: PresenceState,
    to: PresenceState,
    at: number,
    lastSeenAt = at,
  ): void {
    this.metrics.countPresenceTransition(to);
    this.events.publish({
      deviceId: device.id,
      customerId: device.customerId,
      from,
      to,
      lastSeenAt: new Date(lastSeenAt),
      at: new Date(at),
    });
  }

  private async persist(deviceId: string, changes: Parameters<DeviceRepository['update']>[1]): Promise<void> {
    try {
      await this.devices.update(deviceId, changes);
    } catch (error) {
      // The hot state is the truth for presence; a failed write is caught up by the next transition.
      this.logger.warn(`Could not record presence of ${deviceId}: ${String(error)}`);
    }
  }
}

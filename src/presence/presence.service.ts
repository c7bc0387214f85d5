import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { type DeviceRecord, type PresenceState } from '../devices/device';
import { DeviceRepository } from '../devices/device.repository';
import { MetricsService } from '../infra/metrics/metrics.service';
import { type HotPresence, nextDeadline, type PresenceTiming, stateAt, timingFor } from './presence';
import { PresenceEvents } from './presence-events';
import { PresenceStore } from './presence.store';

/** The presence a client sees (PRODUCT §3.2 Device.presence). */
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

/**
 * Presence (PRODUCT §5): signs go to the hot store in one atomic step; every instance sweeps the shared
 * deadline set and moves silent devices online → stale → offline. A transition is made by exactly one
 * caller, published once on the internal bus and written to the database. Heartbeat payloads reach the
 * database at most once per HEARTBEAT_PERSIST_INTERVAL_SEC per device.
 */
@Injectable()
export class PresenceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PresenceService.name);
  private readonly timing: PresenceTiming;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly store: PresenceStore,
    private readonly devices: DeviceRepository,
    private readonly events: PresenceEvents,
    private readonly metrics: MetricsService,
  ) {
    this.timing = timingFor(config.HEARTBEAT_INTERVAL_SEC);
  }

  onApplicationBootstrap(): void {
    this.sweepTimer = setInterval(() => {
      this.sweeping ??= this.sweep(Date.now())
        .catch((error: unknown) => {
          this.logger.warn(`Presence sweep failed: ${String(error)}`);
        })
        .finally(() => {
          this.sweeping = undefined;
        });
    }, this.config.PRESENCE_SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.sweeping;
  }

  /**
   * Records a sign of life. `heartbeat` is the validated heartbeat body; `epoch` the sign's connection
   * epoch (Socket.IO), so that a late sign of a replaced connection changes nothing.
   */
  async recordSign(
    device: DeviceRef,
    sign: { heartbeat?: Record<string, unknown>; agentVersion?: string; epoch?: number } = {},
  ): Promise<void> {
    const at = Date.now();
    const outcome = await this.store.applySign(
      {
        deviceId: device.id,
        at,
        heartbeat: sign.heartbeat === undefined ? undefined : JSON.stringify(sign.heartbeat),
        epoch: sign.epoch,
        persistIntervalMs: this.config.HEARTBEAT_PERSIST_INTERVAL_SEC * 1000,
      },
      this.timing.staleAfterMs,
    );
    if (!outcome.applied) return;
    const transitioned = outcome.previousState !== 'online';
    if (transitioned) this.announce(device, outcome.previousState, 'online', at);
    if (transitioned || outcome.persistDue) {
      await this.persist(device.id, {
        ...(transitioned ? { presenceState: 'online' as const } : {}),
        lastSeenAt: new Date(at),
        ...(outcome.persistDue && sign.heartbeat ? { lastHeartbeat: sign.heartbeat } : {}),
        ...(outcome.persistDue && sign.agentVersion ? { agentVersion: sign.agentVersion } : {}),
      });
    }
  }

  /**
   * A new /agent connection: it takes the next epoch (returned) and counts as a sign. The caller tells
   * every instance, so that the device's older sockets are closed as replaced.
   */
  async connect(device: DeviceRef): Promise<number> {
    const at = Date.now();
    const { epoch, previousState } = await this.store.connect(device.id, at, this.timing.staleAfterMs);
    if (previousState !== 'online') {
      this.announce(device, previousState, 'online', at);
      await this.persist(device.id, { presenceState: 'online', lastSeenAt: new Date(at) });
    }
    return epoch;
  }

  /**
   * The connection of `epoch` closed (PRODUCT §5): the device is offline at once, unless a newer
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

  /** Moves every device whose deadline passed; public so tests can drive it with their own clock. */
  async sweep(now: number): Promise<void> {
    const due = await this.store.due(now, SWEEP_BATCH);
    if (due.length === 0) return;
    const hot = await this.store.get(due);
    await Promise.all(
      due.map(async (deviceId, index) => {
        const current = hot[index];
        if (!current) {
          // The state expired or was forgotten: the transition call clears the stale deadline.
          await this.store.transition(deviceId, { state: 'unknown', lastSeenAt: 0 }, 'unknown', null);
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

  private view(device: DeviceRecord, hot: HotPresence | null, now: number): PresenceView {
    if (!hot) {
      return {
        state: device.presenceState,
        lastSeenAt: device.lastSeenAt,
        lastHeartbeat: device.lastHeartbeat,
      };
    }
    return {
      // Judged at read time, so a reader is exact even between two sweeps. A closed socket is offline at
      // once (PRODUCT §5) although its last sign is recent; the next sign stores online again.
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

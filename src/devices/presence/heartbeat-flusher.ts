import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { DependencyUnavailableError } from '../../common/errors/common.errors';
import { AppConfig } from '../../config/app-config';
import { type HeartbeatSign } from '../device';
import { DeviceRepository } from '../device.repository';
import { MetricsService } from '../../infra/metrics/metrics.service';

/**
 * Writes the throttled heartbeat payloads off the heartbeat's path: PresenceService queues them here, and
 * they are written with one statement per flush (DeviceRepository.recordSigns), PRESENCE_FLUSH_INTERVAL_MS
 * after the first one queued, or as soon as PRESENCE_FLUSH_MAX_ROWS devices wait. Presence transitions
 * never wait here: PresenceService writes them at once, and a batch touches no presence state.
 *
 * The queue keeps the newest payload per device, so however long the database is away it never holds more
 * entries than there are devices sending heartbeats to this instance. A write that fails for an outage
 * puts its payloads back (unless a newer one of the device arrived meanwhile) and is tried again one
 * interval later.
 *
 * The last flush runs in onApplicationShutdown: by then Nest has closed the listener and the sockets (a
 * handler still running may queue one more payload, which the last flush takes too), and Nest shuts the global infrastructure modules (the database
 * connection) down after the feature modules. A crash loses what is queued: at most one interval of
 * payloads.
 */
@Injectable()
export class HeartbeatFlusher implements OnApplicationShutdown {
  private readonly logger = new Logger(HeartbeatFlusher.name);
  /** By device id, in the order the devices were first queued. */
  private readonly queued = new Map<string, HeartbeatSign>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Set by a write that failed for an outage, cleared by the next that succeeds: one warning per outage. */
  private failing = false;
  private stopped = false;

  constructor(
    private readonly config: AppConfig,
    private readonly devices: DeviceRepository,
    private readonly metrics: MetricsService,
  ) {
    metrics.reportQueuedPayloads(() => this.queued.size);
  }

  /** Devices whose payload waits to be written. */
  get queuedDevices(): number {
    return this.queued.size;
  }

  /** Queues a payload for the next flush, replacing an older one of the device; returns at once. */
  add(sign: HeartbeatSign): void {
    this.keepNewest(sign);
    // A flush under way looks at the queue again when it ends.
    if (this.running) return;
    if (this.queued.size >= this.config.PRESENCE_FLUSH_MAX_ROWS && !this.failing) void this.flush();
    else this.schedule();
  }

  /**
   * Writes what is queued now, PRESENCE_FLUSH_MAX_ROWS per statement, after any flush under way. Never
   * rejects: what could not be written stays queued.
   */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.queued.size === 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.writeQueued();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
    this.scheduleRest();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // A heartbeat whose handler was still running when the sockets closed may queue during a flush.
    do await this.flush();
    while (this.queued.size > 0 && !this.failing);
    if (this.queued.size > 0) {
      this.logger.warn(
        `Stopping with the heartbeat payloads of ${this.queued.size} devices unwritten: the database is unavailable`,
      );
    }
  }

  /**
   * Only what is queued when the flush starts: payloads arriving meanwhile wait for the next one, so that
   * a busy gateway still writes in batches instead of chasing each new payload.
   */
  private async writeQueued(): Promise<void> {
    let left = this.queued.size;
    while (left > 0) {
      const batch = this.take(Math.min(left, this.config.PRESENCE_FLUSH_MAX_ROWS));
      left -= batch.length;
      if (!(await this.write(batch))) return;
    }
  }

  /** False when the database is unavailable: the batch is queued again and the flush stops there. */
  private async write(batch: HeartbeatSign[]): Promise<boolean> {
    try {
      await this.devices.recordSigns(batch);
      this.metrics.countPresencePayloadsWritten(batch.length);
    } catch (error) {
      this.metrics.countPresenceWriteFailure();
      if (!(error instanceof DependencyUnavailableError)) {
        // The database refused something in these rows, which no retry changes: write them one by one
        // so that only the refused ones are lost.
        return batch.length === 1 ? this.drop(batch, error) : this.writeEach(batch);
      }
      for (const sign of batch) this.keepNewest(sign);
      if (!this.failing) {
        this.logger.warn(
          `Could not write the heartbeat payloads of ${batch.length} devices; keeping the newest per device ` +
            `and trying again every ${this.config.PRESENCE_FLUSH_INTERVAL_MS} ms: ${String(error.cause)}`,
        );
      }
      this.failing = true;
      return false;
    }
    if (this.failing) {
      this.failing = false;
      this.logger.log('Writing heartbeat payloads again: the database is back');
    }
    return true;
  }

  private async writeEach(batch: HeartbeatSign[]): Promise<boolean> {
    for (const sign of batch) {
      if (!(await this.write([sign]))) return false;
    }
    return true;
  }

  /** The hot state still shows the payload, and the device's next persisted heartbeat writes its own. */
  private drop(batch: HeartbeatSign[], error: unknown): boolean {
    this.logger.warn(
      `Dropped the heartbeat payload of ${batch[0]?.deviceId ?? 'a device'}: ${String(error)}`,
    );
    return true;
  }

  /** Queues a sign unless a newer one of the device waits; a sign naming no agent version keeps the older's. */
  private keepNewest(sign: HeartbeatSign): void {
    const waiting = this.queued.get(sign.deviceId);
    if (waiting && waiting.seenAt.getTime() > sign.seenAt.getTime()) {
      if (waiting.agentVersion === null && sign.agentVersion !== null) {
        this.queued.set(sign.deviceId, { ...waiting, agentVersion: sign.agentVersion });
      }
      return;
    }
    this.queued.set(sign.deviceId, {
      ...sign,
      agentVersion: sign.agentVersion ?? waiting?.agentVersion ?? null,
    });
  }

  private take(count: number): HeartbeatSign[] {
    const batch: HeartbeatSign[] = [];
    for (const [deviceId, sign] of this.queued) {
      if (batch.length === count) break;
      batch.push(sign);
      this.queued.delete(deviceId);
    }
    return batch;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.config.PRESENCE_FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** After a flush: a full batch goes at once, anything less (or anything during an outage) an interval later. */
  private scheduleRest(): void {
    if (this.queued.size === 0 || this.stopped) return;
    if (this.queued.size >= this.config.PRESENCE_FLUSH_MAX_ROWS && !this.failing) void this.flush();
    else this.schedule();
  }
}

import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DEVICE_STATUS, watchersOf } from '../devices.events';
import { DevicesService } from '../devices.service';
import { PresenceEvents, type PresenceTransition } from './presence-events';
import { RealtimeService } from '../../realtime/realtime.service';

/**
 * Forwards each presence transition to the portals as `device:status` with the full device. The
 * transition is made by one instance; the Socket.IO adapter carries the event to every instance.
 */
@Injectable()
export class PresenceRelay implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PresenceRelay.name);
  private unsubscribe: (() => void) | undefined;
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly events: PresenceEvents,
    private readonly devices: DevicesService,
    private readonly realtime: RealtimeService,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.events.subscribe((transition) => {
      // One device's statuses leave in the order they happened (a reconnect's offline, then online),
      // although each waits for its own database read.
      const previous = this.pending.get(transition.deviceId) ?? Promise.resolve();
      const next = previous.then(() => this.relay(transition));
      this.pending.set(transition.deviceId, next);
      void next.finally(() => {
        if (this.pending.get(transition.deviceId) === next) this.pending.delete(transition.deviceId);
      });
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  private async relay(transition: PresenceTransition): Promise<void> {
    try {
      const device = await this.devices.snapshot(transition.deviceId);
      if (!device) return;
      // The snapshot reads presence at this moment; the event says which state was entered.
      this.realtime.toPortal(watchersOf(device), DEVICE_STATUS, {
        ...device,
        presence: {
          ...device.presence,
          state: transition.to,
          lastSeenAt: transition.lastSeenAt.toISOString(),
        },
      });
    } catch (error) {
      this.logger.warn(`Could not send the status of ${transition.deviceId}: ${String(error)}`);
    }
  }
}

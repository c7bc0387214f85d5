import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Cache } from '../../../infra/cache/cache';

/** The instance bus channel on which "this device has work" goes to every instance. */
const WORK_CHANNEL = 'command-work';

/**
 * What a signal says: this device has work; with `ended`, because that command of the device reached a
 * final status (a slot is free, and a caller waiting for that command may look).
 */
export interface DeviceWork {
  deviceId: string;
  ended?: string;
}

type Listener = (work: DeviceWork) => void;

/** `<deviceId>` or `<deviceId> <commandId>`: ids hold no space. */
const encode = ({ deviceId, ended }: DeviceWork): string =>
  ended === undefined ? deviceId : `${deviceId} ${ended}`;

function decode(message: string): DeviceWork {
  const space = message.indexOf(' ');
  return space < 0
    ? { deviceId: message }
    : { deviceId: message.slice(0, space), ended: message.slice(space + 1) };
}

/**
 * "Device has work": a command was queued for it, or one of its commands ended (a slot is free, and a
 * caller waiting for it to settle may look). Sent to every instance over the cache's bus, the one
 * takeovers and revocations use, because only the instance holding the device's socket or long poll
 * may deliver; the others ignore it. A lost signal delays a command, never loses it: connections, long
 * polls, clocks and resumed subscriptions look at the queue anyway.
 */
@Injectable()
export class DeviceWorkSignal implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeviceWorkSignal.name);
  private readonly listeners = new Set<Listener>();
  private readonly resumedListeners = new Set<() => void>();
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(private readonly cache: Cache) {}

  async onApplicationBootstrap(): Promise<void> {
    this.cache.onSubscriptionsResumed(() => {
      for (const listener of this.resumedListeners) listener();
    });
    try {
      this.unsubscribe = await this.cache.subscribe(WORK_CHANNEL, (message) => {
        const work = decode(message);
        for (const listener of this.listeners) listener(work);
      });
    } catch (error) {
      this.logger.warn(`Could not listen for command work yet: ${String(error)}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.unsubscribe?.().catch(() => undefined);
  }

  announce(work: DeviceWork): void {
    this.cache.publish(WORK_CHANNEL, encode(work)).catch((error: unknown) => {
      this.logger.warn(`Could not announce work for device ${work.deviceId}: ${String(error)}`);
    });
  }

  /** Hears every device's signal, from any instance; returns the way to stop. */
  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called when the bus resumes after an outage, during which signals may have been lost. */
  onResumed(listener: () => void): () => void {
    this.resumedListeners.add(listener);
    return () => this.resumedListeners.delete(listener);
  }
}

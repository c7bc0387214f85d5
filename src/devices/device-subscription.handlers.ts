import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { constant, object } from '../common/docs/typed-schema';
import { AppConfig } from '../config/app-config';
import { type PortalConnection } from '../realtime/realtime-connections';
import { RealtimeHandlers } from '../realtime/realtime-handlers';
import { rooms } from '../realtime/realtime.events';
import { DevicesService } from './devices.service';
import { DeviceNotFoundError } from './devices.errors';
import { DeviceSubscriptionDto } from './dto/device-subscription.dto';
import { DEVICE_SCHEMA, type DeviceResponse } from './dto/device.response';
import { reserveSubscription } from './subscription-limit';

const DEVICE_ROOM = rooms.device('');

/**
 * `device:subscribe` / `device:unsubscribe` on /portal (docs/guide.md#socketio): a portal socket watches single
 * devices, its customer's own or (admins) any, at most SOCKET_MAX_SUBSCRIPTIONS of them.
 */
@Injectable()
export class DeviceSubscriptionHandlers implements OnModuleInit {
  private readonly logger = new Logger(DeviceSubscriptionHandlers.name);
  /** Each connection's devices, counted before their access check so a burst cannot pass the limit. */
  private readonly subscriptions = new WeakMap<PortalConnection, Set<string>>();

  constructor(
    private readonly config: AppConfig,
    private readonly handlers: RealtimeHandlers,
    private readonly devices: DevicesService,
  ) {}

  onModuleInit(): void {
    this.handlers.portal.onConnected((connection) => {
      // A recovered socket is back in the device rooms it had joined; count them against the limit.
      const restored = [...connection.rooms()]
        .filter((room) => room.startsWith(DEVICE_ROOM))
        .map((room) => room.slice(DEVICE_ROOM.length));
      this.subscriptions.set(connection, new Set(restored));
      if (connection.recovered) void this.recheckRestored(connection);
    });
    this.handlers.portal.handle({
      event: 'device:subscribe',
      summary:
        "Watch a device: its `device:status` events from now on, and its current state in the ack. A customer's " +
        'own devices, or (admins) any; at most SOCKET_MAX_SUBSCRIPTIONS per socket.',
      payload: DeviceSubscriptionDto,
      ack: object<{ ok: true; device: DeviceResponse }>({ ok: constant(true), device: DEVICE_SCHEMA }),
      handle: ({ deviceId }, connection) => this.subscribe(connection, deviceId.toLowerCase()),
    });
    this.handlers.portal.handle({
      event: 'device:unsubscribe',
      summary: 'Stop watching a device subscribed to',
      payload: DeviceSubscriptionDto,
      ack: object<{ ok: true }>({ ok: constant(true) }),
      handle: async ({ deviceId }, connection) => {
        const id = deviceId.toLowerCase();
        this.subscriptionsOf(connection).delete(id);
        await connection.leave(rooms.device(id));
        return { ok: true as const };
      },
    });
  }

  private async subscribe(
    connection: PortalConnection,
    id: string,
  ): Promise<{ ok: true; device: DeviceResponse }> {
    const release = reserveSubscription(
      this.subscriptionsOf(connection),
      id,
      this.config.SOCKET_MAX_SUBSCRIPTIONS,
    );
    try {
      // Throws "not found" for a device of another customer, as HTTP does.
      const device = await this.devices.get(connection.customer, id);
      await connection.join(rooms.device(id));
      return { ok: true, device };
    } catch (error) {
      release();
      throw error;
    }
  }

  private subscriptionsOf(connection: PortalConnection): Set<string> {
    let subscriptions = this.subscriptions.get(connection);
    if (!subscriptions) {
      subscriptions = new Set();
      this.subscriptions.set(connection, subscriptions);
    }
    return subscriptions;
  }

  /** Recovery restored rooms before this connection's token was checked: keep the devices it may see. */
  private async recheckRestored(connection: PortalConnection): Promise<void> {
    const subscriptions = this.subscriptionsOf(connection);
    for (const id of [...subscriptions]) {
      try {
        await this.devices.get(connection.customer, id);
      } catch (error) {
        if (!(error instanceof DeviceNotFoundError)) {
          this.logger.warn(`Could not recheck a restored subscription to ${id}: ${String(error)}`);
          continue;
        }
        subscriptions.delete(id);
        await connection.leave(rooms.device(id));
      }
    }
  }
}

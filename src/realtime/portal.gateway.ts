import { type BeforeApplicationShutdown, Logger } from '@nestjs/common';
import {
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
  WebSocketGateway,
} from '@nestjs/websockets';
import { type Namespace, type Socket } from 'socket.io';
import { AuthFailure, InvalidCredentialsError } from '../auth/auth.errors';
import { CustomerTokenVerifier } from '../auth/customer-token.verifier';
import { type CustomerPrincipal } from '../auth/principal';
import { ForbiddenError } from '../common/errors/common.errors';
import { SchemaValidator } from '../common/validation/schema-validator';
import { AppConfig } from '../config/app-config';
import { DeviceNotFoundError } from '../devices/devices.errors';
import { DevicesService } from '../devices/devices.service';
import { MetricsService } from '../infra/metrics/metrics.service';
import { AuthRefreshDto } from './dto/auth-refresh.dto';
import { DeviceSubscriptionDto } from './dto/device-subscription.dto';
import { RealtimeService } from './realtime.service';
import { rooms } from './realtime.events';
import { authenticateHandshakes } from './socket-auth';
import { announceShutdown, closeConnection, handleEvent, refuseUnknownEvents } from './socket-events';
import { reserveSubscription } from './subscription-limit';

/**
 * Kept by Socket.IO for connection state recovery (msgpack-encoded into Redis when a transport closes),
 * so only plain data: a timer here (its linked list is circular) made the encoding throw inside the
 * close handler, an uncaught exception. The expiry timers live in the gateway instead.
 */
interface PortalSocketData {
  customer: CustomerPrincipal;
  subscriptions: Set<string>;
}

type PortalSocket = Socket<
  Record<string, never>,
  Record<string, never>,
  Record<string, never>,
  PortalSocketData
>;

const DEVICE_ROOM = rooms.device('');

/** setTimeout holds at most about 24.8 days; a longer token is re-armed when that fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `/portal` (PRODUCT §6): customers authenticate with their access token, join `customer:<sub>` (every
 * status of their devices), and may subscribe to single devices (admins to any). When the token expires
 * the socket is closed with `token_expired`, unless the client sent a fresh one with `auth:refresh`. An
 * instance that stops tells its sockets `shutdown` and closes them at the transport (clients reconnect).
 */
@WebSocketGateway({ namespace: '/portal' })
export class PortalGateway
  implements
    OnGatewayInit<Namespace>,
    OnGatewayConnection<PortalSocket>,
    OnGatewayDisconnect<PortalSocket>,
    BeforeApplicationShutdown
{
  private readonly logger = new Logger(PortalGateway.name);
  private readonly subscription = new SchemaValidator(DeviceSubscriptionDto);
  private readonly refresh = new SchemaValidator(AuthRefreshDto);
  private readonly expiries = new WeakMap<PortalSocket, NodeJS.Timeout>();
  private namespace: Namespace | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly verifier: CustomerTokenVerifier,
    private readonly devices: DevicesService,
    private readonly realtime: RealtimeService,
    private readonly metrics: MetricsService,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    if (this.namespace) await announceShutdown(this.namespace);
  }

  afterInit(namespace: Namespace): void {
    this.namespace = namespace;
    this.realtime.attachPortal(namespace);
    authenticateHandshakes(
      namespace,
      'customer',
      this.metrics,
      ({ token }) =>
        typeof token === 'string'
          ? this.verifier.verify(token)
          : Promise.resolve(new AuthFailure('missing', 'no token in the handshake')),
      (socket, customer) => {
        (socket as PortalSocket).data.customer = customer;
      },
    );
  }

  handleConnection(socket: PortalSocket): void {
    // A recovered socket is back in the device rooms it had joined; count them against the limit.
    socket.data.subscriptions = new Set(
      [...socket.rooms]
        .filter((room) => room.startsWith(DEVICE_ROOM))
        .map((room) => room.slice(DEVICE_ROOM.length)),
    );
    void socket.join(rooms.customer(socket.data.customer.userId));
    if (socket.recovered) void this.recheckRestoredRooms(socket);
    this.armExpiry(socket);
    const failure = (problem: unknown) => ({ ok: false, error: problem });
    refuseUnknownEvents(socket, ['device:subscribe', 'device:unsubscribe', 'auth:refresh'], failure);

    handleEvent(
      socket,
      'device:subscribe',
      this.subscription,
      async ({ deviceId }) => {
        const id = deviceId.toLowerCase();
        const release = reserveSubscription(
          socket.data.subscriptions,
          id,
          this.config.SOCKET_MAX_SUBSCRIPTIONS,
        );
        try {
          // Throws "not found" for a device of another customer, as HTTP does.
          const device = await this.devices.get(socket.data.customer, id);
          await socket.join(rooms.device(id));
          return { ok: true, device };
        } catch (error) {
          release();
          throw error;
        }
      },
      failure,
    );

    handleEvent(
      socket,
      'device:unsubscribe',
      this.subscription,
      async ({ deviceId }) => {
        const id = deviceId.toLowerCase();
        socket.data.subscriptions.delete(id);
        await socket.leave(rooms.device(id));
        return { ok: true };
      },
      failure,
    );

    handleEvent(
      socket,
      'auth:refresh',
      this.refresh,
      async ({ token }) => {
        const result = await this.verifier.verify(token);
        if (result instanceof AuthFailure) throw new InvalidCredentialsError();
        if (result.userId !== socket.data.customer.userId) {
          throw new ForbiddenError('A socket cannot change the customer it belongs to; reconnect instead.');
        }
        socket.data.customer = result;
        this.armExpiry(socket);
        return { ok: true, expiresAt: new Date(result.expiresAt).toISOString() };
      },
      failure,
    );
  }

  handleDisconnect(socket: PortalSocket): void {
    clearTimeout(this.expiries.get(socket));
    this.expiries.delete(socket);
  }

  /**
   * Recovery restores the rooms of the session it resumes, before this connection's token was checked
   * against them: keep only the customer's own room and the devices it may still see.
   */
  private async recheckRestoredRooms(socket: PortalSocket): Promise<void> {
    const own = rooms.customer(socket.data.customer.userId);
    for (const room of socket.rooms) {
      if (room.startsWith(rooms.customer('')) && room !== own) await socket.leave(room);
    }
    for (const id of [...socket.data.subscriptions]) {
      try {
        await this.devices.get(socket.data.customer, id);
      } catch (error) {
        if (!(error instanceof DeviceNotFoundError)) {
          this.logger.warn(`Could not recheck a restored subscription to ${id}: ${String(error)}`);
          continue;
        }
        socket.data.subscriptions.delete(id);
        await socket.leave(rooms.device(id));
      }
    }
  }

  private armExpiry(socket: PortalSocket): void {
    clearTimeout(this.expiries.get(socket));
    const remaining = socket.data.customer.expiresAt - Date.now();
    const expiry = setTimeout(
      () => {
        if (socket.data.customer.expiresAt <= Date.now()) closeConnection(socket, 'token_expired');
        else this.armExpiry(socket);
      },
      Math.max(0, Math.min(remaining, MAX_TIMER_MS)),
    );
    expiry.unref();
    this.expiries.set(socket, expiry);
  }
}

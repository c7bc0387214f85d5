import { type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
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
import { MetricsService } from '../infra/metrics/metrics.service';
import { AUTH_REFRESHED_SCHEMA, AuthRefreshDto } from './dto/auth-refresh.dto';
import { type PortalConnection } from './realtime-connections';
import { RealtimeHandlers } from './realtime-handlers';
import { RealtimeService } from './realtime.service';
import { rooms } from './realtime.events';
import { authenticateHandshakes } from './socket-auth';
import { announceShutdown, closeConnection, dispatchEvents } from './socket-events';

/**
 * Kept by Socket.IO for connection state recovery (msgpack-encoded into Redis when a transport closes),
 * so only plain data: a timer here (its linked list is circular) made the encoding throw inside the
 * close handler, an uncaught exception. The expiry timers live in the gateway instead.
 */
interface PortalSocketData {
  customer: CustomerPrincipal;
}

type PortalSocket = Socket<
  Record<string, never>,
  Record<string, never>,
  Record<string, never>,
  PortalSocketData
>;

/** setTimeout holds at most about 24.8 days; a longer token is re-armed when that fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `/portal` (docs/guide.md#socketio), the transport: customers authenticate with their access token and join
 * `customer:<sub>`; their other events go to the handlers features registered (RealtimeHandlers). When the
 * token expires the socket is closed with `token_expired`, unless the client sent a fresh one with
 * `auth:refresh`. An instance that stops tells its sockets `shutdown` and closes them at the transport
 * (clients reconnect).
 */
@WebSocketGateway({ namespace: '/portal' })
export class PortalGateway
  implements
    OnGatewayInit<Namespace>,
    OnGatewayConnection<PortalSocket>,
    OnGatewayDisconnect<PortalSocket>,
    OnModuleInit,
    BeforeApplicationShutdown
{
  private readonly expiries = new WeakMap<PortalSocket, NodeJS.Timeout>();
  private readonly connections = new WeakMap<PortalSocket, PortalConnection>();
  private readonly sockets = new WeakMap<PortalConnection, PortalSocket>();
  private namespace: Namespace | undefined;

  constructor(
    private readonly verifier: CustomerTokenVerifier,
    private readonly handlers: RealtimeHandlers,
    private readonly realtime: RealtimeService,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.handlers.portal.handle({
      event: 'auth:refresh',
      summary:
        'A fresh access token for the same user, before the current one expires; the socket stays open ' +
        'with it (otherwise `connection:closing { reason: token_expired }`).',
      payload: AuthRefreshDto,
      ack: AUTH_REFRESHED_SCHEMA,
      handle: async ({ token }, connection) => {
        const socket = this.sockets.get(connection);
        const result = await this.verifier.verify(token);
        if (result instanceof AuthFailure) throw new InvalidCredentialsError();
        if (result.userId !== connection.customer.userId) {
          throw new ForbiddenError('A socket cannot change the customer it belongs to; reconnect instead.');
        }
        if (socket?.connected) {
          socket.data.customer = result;
          this.armExpiry(socket);
        }
        return { ok: true as const, expiresAt: new Date(result.expiresAt).toISOString() };
      },
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.namespace) await announceShutdown(this.namespace);
  }

  afterInit(namespace: Namespace): void {
    this.namespace = namespace;
    this.realtime.attachPortal(namespace);
    this.metrics.reportConnectedSockets('portal', () => namespace.sockets.size);
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
    const connection: PortalConnection = {
      id: socket.id,
      get customer() {
        return socket.data.customer;
      },
      recovered: socket.recovered,
      rooms: () => socket.rooms,
      // A join that lands after the socket closed would leave its id in the room for good.
      join: async (room) => {
        if (socket.connected) await socket.join(room);
      },
      leave: async (room) => {
        await socket.leave(room);
      },
    };
    this.connections.set(socket, connection);
    this.sockets.set(connection, socket);
    const own = rooms.customer(socket.data.customer.userId);
    // Recovery restores the rooms of the connection it resumes, before this token was checked against
    // them: another customer's room is left at once; features recheck the rooms they manage.
    for (const room of socket.rooms) {
      if (room.startsWith(rooms.customer('')) && room !== own) void socket.leave(room);
    }
    void socket.join(own);
    this.armExpiry(socket);
    if (!this.handlers.portal.announceConnected(connection)) {
      socket.disconnect(true);
      return;
    }
    dispatchEvents(socket, this.handlers.portal.events(), connection, this.handlers.portal.failureAck.build);
  }

  handleDisconnect(socket: PortalSocket): void {
    clearTimeout(this.expiries.get(socket));
    this.expiries.delete(socket);
    const connection = this.connections.get(socket);
    if (!connection) return;
    this.connections.delete(socket);
    this.handlers.portal.announceDisconnected(connection);
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

import { type BeforeApplicationShutdown } from '@nestjs/common';
import {
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
  WebSocketGateway,
} from '@nestjs/websockets';
import { type Namespace, type Socket } from 'socket.io';
import { AuthFailure } from '../auth/auth.errors';
import { DeviceCredentialsService } from '../auth/device-credentials.service';
import { type DevicePrincipal } from '../auth/principal';
import { MetricsService } from '../infra/metrics/metrics.service';
import { type AgentConnection } from './realtime-connections';
import { RealtimeHandlers } from './realtime-handlers';
import { rooms } from './realtime.events';
import { authenticateHandshakes } from './socket-auth';
import { RealtimeService } from './realtime.service';
import { announceShutdown, closeConnection, dispatchEvents } from './socket-events';

interface AgentSocketData {
  device: DevicePrincipal;
}

type AgentSocket = Socket<
  Record<string, never>,
  Record<string, never>,
  Record<string, never>,
  AgentSocketData
>;

/**
 * `/agent` (docs/guide.md#socketio), the transport: devices authenticate in the handshake with the same verification
 * as HTTP and join `device:<id>`; their events go to the handlers features registered (RealtimeHandlers),
 * and features hear of each connection and its end. An instance that stops tells its sockets `shutdown`
 * and closes them at the transport, so agents reconnect elsewhere.
 */
@WebSocketGateway({ namespace: '/agent' })
export class AgentGateway
  implements
    OnGatewayInit<Namespace>,
    OnGatewayConnection<AgentSocket>,
    OnGatewayDisconnect<AgentSocket>,
    BeforeApplicationShutdown
{
  private readonly connections = new WeakMap<AgentSocket, AgentConnection>();
  private namespace: Namespace | undefined;

  constructor(
    private readonly credentials: DeviceCredentialsService,
    private readonly handlers: RealtimeHandlers,
    private readonly metrics: MetricsService,
    private readonly realtime: RealtimeService,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    if (this.namespace) await announceShutdown(this.namespace);
  }

  afterInit(namespace: Namespace): void {
    this.namespace = namespace;
    this.realtime.attachAgent(namespace);
    this.metrics.reportConnectedSockets('agent', () => namespace.sockets.size);
    authenticateHandshakes(
      namespace,
      'device',
      this.metrics,
      async ({ deviceId, secret }) =>
        typeof deviceId === 'string' && typeof secret === 'string'
          ? this.credentials.verify(deviceId, secret)
          : new AuthFailure('missing', 'no deviceId and secret in the handshake'),
      (socket, device) => {
        (socket as AgentSocket).data.device = device;
      },
    );
  }

  handleConnection(socket: AgentSocket): void {
    const connection: AgentConnection = {
      id: socket.id,
      device: socket.data.device,
      close: (reason) => {
        if (reason) closeConnection(socket, reason);
        else socket.disconnect(true);
      },
      emitWithAck: (event, payload, timeoutMs, answered) => {
        (socket as unknown as Socket).timeout(timeoutMs).emit(event, payload, answered);
      },
    };
    this.connections.set(socket, connection);
    void socket.join(rooms.device(connection.device.deviceId));
    // Listeners first: an agent may send its first event at once, and its handler expects them to know.
    if (!this.handlers.agent.announceConnected(connection)) {
      socket.disconnect(true);
      return;
    }
    dispatchEvents(socket, this.handlers.agent.events(), connection, this.handlers.agent.failureAck.build);
  }

  handleDisconnect(socket: AgentSocket): void {
    const connection = this.connections.get(socket);
    if (!connection) return;
    this.connections.delete(socket);
    this.handlers.agent.announceDisconnected(connection);
  }
}

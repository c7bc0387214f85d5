import { type IncomingMessage } from 'node:http';
import { type INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { type Server, type ServerOptions } from 'socket.io';
import { isRefusedConnection } from '../common/http/connection-limits';
import { type ProblemFilter } from '../common/http/problem.filter';
import { AppConfig } from '../config/app-config';
import { SocketClusterAdapter } from './socket-cluster.adapter';
import { answerProblemsWith } from './socket-events';

/**
 * How sockets are carried (docs/guide.md#socketio): path /socket.io, websocket only, no permessage-deflate (about 17×
 * the memory per socket), messages bounded. Shared with the bare baseline of bench/sockets.
 */
export function socketTransportOptions(config: AppConfig): Partial<ServerOptions> {
  return {
    path: '/socket.io',
    transports: ['websocket'],
    perMessageDeflate: false,
    httpCompression: false,
    maxHttpBufferSize: config.SOCKET_MAX_MESSAGE_BYTES,
    serveClient: false,
  };
}

/**
 * Socket.IO on the app's own HTTP server (docs/guide.md#socketio): path /socket.io, websocket transport only,
 * permessage-deflate off (it costs about 17× the memory per socket), limits and CORS from configuration,
 * and the Redis Streams adapter when instances share Redis. The cluster adapter is built once, before the
 * first namespace is created, from the DI-provided SocketClusterAdapter.
 */
export class RealtimeIoAdapter extends IoAdapter {
  private clusterAdapter: Awaited<ReturnType<SocketClusterAdapter['create']>>;

  constructor(
    private readonly app: INestApplicationContext,
    private readonly problems: ProblemFilter,
  ) {
    super(app);
  }

  async prepare(): Promise<void> {
    this.clusterAdapter = await this.app.get(SocketClusterAdapter).create();
  }

  /**
   * The gateways register their events themselves (payload discipline in socket-events.ts) and declare no
   * @SubscribeMessage handlers; Nest would still build a disconnect observable per socket, about 1 KiB
   * of heap for every connected device.
   */
  override bindMessageHandlers(...args: Parameters<IoAdapter['bindMessageHandlers']>): void {
    const [, handlers] = args;
    if (handlers.length === 0) return;
    super.bindMessageHandlers(...args);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const config = this.app.get(AppConfig);
    const origins = config.SOCKET_CORS_ORIGINS;
    const recovery = config.SOCKET_RECOVERY_WINDOW_MS;
    const server = super.createIOServer(port, {
      ...options,
      ...socketTransportOptions(config),
      // A connection accepted past HTTP_MAX_CONNECTIONS is refused here too, before any handshake work.
      allowRequest: (request: IncomingMessage, callback: (error: string | null, allow: boolean) => void) => {
        callback(null, !isRefusedConnection(request.socket));
      },
      ...(origins
        ? { cors: { origin: origins === '*' ? '*' : origins.split(','), credentials: false } }
        : {}),
      ...(recovery > 0
        ? {
            connectionStateRecovery: {
              maxDisconnectionDuration: recovery,
              // A recovered socket authenticates again: its token may have expired or its device been revoked.
              skipMiddlewares: false,
            },
          }
        : {}),
      ...(this.clusterAdapter ? { adapter: this.clusterAdapter } : {}),
    }) as Server;
    answerProblemsWith(server, this.problems);
    return server;
  }
}

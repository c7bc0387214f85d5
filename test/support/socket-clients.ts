import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';

/** What a refused handshake gives the client (docs/guide.md#socketio): `message` and `data.code`. */
export type ConnectError = Error & { data?: { code?: string } };

type ClientOptions = Partial<ManagerOptions & SocketOptions>;

/**
 * Real socket.io-client sockets over TCP, each on its own connection (`forceNew`), websocket only, as
 * agents and the portal connect. Every socket it opens is remembered, so that `closeAll` in afterAll
 * leaves nothing behind that would keep jest from exiting.
 */
export class SocketClients {
  private readonly sockets = new Set<Socket>();

  agent(baseUrl: string, auth: Record<string, unknown>, options: ClientOptions = {}): Socket {
    return this.open(`${baseUrl}/agent`, auth, options);
  }

  /** `auth` is the access token, or a whole handshake auth object to try malformed ones. */
  portal(baseUrl: string, auth: string | Record<string, unknown>, options: ClientOptions = {}): Socket {
    return this.open(`${baseUrl}/portal`, typeof auth === 'string' ? { token: auth } : auth, options);
  }

  /** Opens a socket and waits for the server to accept it. */
  async connectAgent(
    baseUrl: string,
    auth: Record<string, unknown>,
    options?: ClientOptions,
  ): Promise<Socket> {
    const socket = this.agent(baseUrl, auth, options);
    await connected(socket);
    return socket;
  }

  async connectPortal(baseUrl: string, token: string, options?: ClientOptions): Promise<Socket> {
    const socket = this.portal(baseUrl, token, options);
    await connected(socket);
    return socket;
  }

  closeAll(): void {
    for (const socket of this.sockets) socket.disconnect();
    this.sockets.clear();
  }

  private open(url: string, auth: Record<string, unknown>, options: ClientOptions): Socket {
    const socket = io(url, {
      path: '/socket.io',
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: 5000,
      auth,
      ...options,
    });
    this.sockets.add(socket);
    return socket;
  }
}

/** Resolves when the socket is connected; rejects with the handshake's refusal. */
export function connected(socket: Socket, timeoutMs = 5000): Promise<void> {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`socket did not connect within ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnect = (): void => {
      cleanup();
      resolve();
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
    };
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
  });
}

/** The refusal of a handshake; fails if the server accepted the socket instead. */
export async function refusal(socket: Socket, timeoutMs = 5000): Promise<ConnectError> {
  try {
    await connected(socket, timeoutMs);
  } catch (error) {
    return error as ConnectError;
  }
  throw new Error('the server accepted a handshake it should have refused');
}

/** The next `event` on the socket whose payload passes `accept`, or a failure at the deadline. */
export function nextEvent<T = unknown>(
  socket: Socket,
  event: string,
  accept: (payload: T) => boolean = () => true,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no matching "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (payload: T): void => {
      if (!accept(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(payload);
    };
    socket.on(event, listener);
  });
}

/** Every `event` the socket receives from now on, in order, with when it arrived. */
export function record<T = unknown>(socket: Socket, event: string): { payload: T; at: number }[] {
  const seen: { payload: T; at: number }[] = [];
  socket.on(event, (payload: T) => {
    seen.push({ payload, at: Date.now() });
  });
  return seen;
}

/** The reason the socket gets disconnected with. */
export function disconnection(socket: Socket, timeoutMs = 5000): Promise<Socket.DisconnectReason> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`socket was not disconnected within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

/** Emits with an acknowledgement, failing if none comes within the deadline. */
export function ask<T = unknown>(
  socket: Socket,
  event: string,
  payload: unknown,
  timeoutMs = 5000,
): Promise<T> {
  return socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<T>;
}

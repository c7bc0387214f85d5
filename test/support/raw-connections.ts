import { connect, type Socket } from 'node:net';

/** A TCP connection that sends what a test says and records what comes back and when it closed. */
export interface RawConnection {
  socket: Socket;
  /** Everything the server sent. */
  received(): string;
  /** Resolves with the milliseconds from open to close, once the server (or the test) closed it. */
  closed: Promise<number>;
  /** Milliseconds from open to the first byte the server sent; undefined before it sent any. */
  firstByteMs(): number | undefined;
}

/**
 * Opens a connection to `port` and writes `data` (possibly an incomplete request, possibly nothing), then
 * leaves it as a slow or idle client would. The caller destroys what is still open when done.
 */
export function openRawConnection(port: number, data: string): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const openedAt = Date.now();
    let text = '';
    let firstByteMs: number | undefined;
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<number>((closedResolve) => {
      socket.once('close', () => {
        closedResolve(Date.now() - openedAt);
      });
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      firstByteMs ??= Date.now() - openedAt;
      text += chunk;
    });
    // A reset by the server is a close like any other here.
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      if (data !== '') socket.write(data);
      resolve({ socket, received: () => text, closed, firstByteMs: () => firstByteMs });
    });
    socket.once('error', reject);
  });
}

/** Opens `count` connections, a few hundred at a time so the listen backlog is never the limit. */
export async function openRawConnections(
  port: number,
  data: string,
  count: number,
): Promise<RawConnection[]> {
  const connections: RawConnection[] = [];
  for (let start = 0; start < count; start += 250) {
    const batch = Math.min(250, count - start);
    connections.push(
      ...(await Promise.all(Array.from({ length: batch }, () => openRawConnection(port, data)))),
    );
  }
  return connections;
}

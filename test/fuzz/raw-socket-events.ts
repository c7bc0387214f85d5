import { type Socket } from 'socket.io-client';
import { toJsonText } from './json-text';
import { withinDeadline } from './fuzz-oracles';

/** Socket.IO packet types on the wire (socket.io-parser): an event and its acknowledgement. */
const EVENT_PACKET = 2;
const ACK_PACKET = 3;

/** The fields of a decoded packet that an acknowledgement is matched on. */
interface DecodedPacket {
  type: number;
  nsp: string;
  id?: number;
  data?: unknown;
}

/**
 * Names Socket.IO reserves for itself: socket.io-client refuses to emit them, and the server treats a
 * packet that carries one as a protocol violation and closes the connection. The fuzzer sends only what
 * a conforming client can.
 */
export const RESERVED_EVENT_NAMES = [
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
] as const;

/**
 * Emits events on a real socket.io-client connection with the payload written as JSON text (so that
 * RawJson spellings such as 1e999 reach the server as written), and waits for the acknowledgement.
 */
export class RawSocketEvents {
  /** Far above the ids socket.io-client gives its own acknowledgements. */
  private nextAckId = 1_000_000;

  /** `namespace` is the socket's (socket.io-client keeps its own copy private). */
  constructor(
    private readonly socket: Socket,
    private readonly namespace: '/agent' | '/portal',
  ) {}

  /** The frame an event would be sent as: its size decides whether the server takes it. */
  frame(event: unknown, payload: unknown, ackId = 0): string {
    return `${EVENT_PACKET}${this.namespace},${ackId}${toJsonText([event, payload])}`;
  }

  /** The acknowledgement's argument; fails if the connection closes or nothing comes in time. */
  ask(event: unknown, payload: unknown): Promise<unknown> {
    const ackId = this.nextAckId++;
    const { socket, namespace } = this;
    const answer = new Promise<unknown>((resolve, reject) => {
      const onPacket = (packet: DecodedPacket): void => {
        if (packet.type !== ACK_PACKET || packet.nsp !== namespace || packet.id !== ackId) return;
        cleanup();
        resolve(Array.isArray(packet.data) ? (packet.data[0] as unknown) : undefined);
      };
      const onDisconnect = (reason: string): void => {
        cleanup();
        reject(new Error(`the connection closed (${reason}) before the acknowledgement`));
      };
      const cleanup = (): void => {
        socket.io.off('packet', onPacket);
        socket.off('disconnect', onDisconnect);
      };
      socket.io.on('packet', onPacket);
      socket.on('disconnect', onDisconnect);
      socket.io.engine.write(this.frame(event, payload, ackId));
    });
    return withinDeadline(`the ${String(event)} event`, answer);
  }
}

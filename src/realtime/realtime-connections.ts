import { type Type } from '@nestjs/common';
import { type Schema } from '../common/docs/typed-schema';
import { type CustomerPrincipal, type DevicePrincipal } from '../auth/principal';
import { type ConnectionCloseReason } from './realtime.events';

/** One device agent's socket on this instance, as features see it. */
export interface AgentConnection {
  readonly id: string;
  readonly device: DevicePrincipal;
  /**
   * Tells the agent why (when there is a reason it should know), then closes the socket; an agent closed
   * by the server does not reconnect on its own.
   */
  close(reason?: Extract<ConnectionCloseReason, 'replaced' | 'revoked'>): void;
  /**
   * Sends an event to this socket; `answered` hears the agent's ack the moment it arrives (before any
   * later event of the socket is handled), or an error when none arrives within `timeoutMs` or the
   * socket closes first.
   */
  emitWithAck(
    event: string,
    payload: unknown,
    timeoutMs: number,
    answered: (error: Error | null, ack?: unknown) => void,
  ): void;
}

/** One portal socket on this instance, as features see it. */
export interface PortalConnection {
  readonly id: string;
  /** The customer as of the socket's latest token (`auth:refresh` replaces it). */
  readonly customer: CustomerPrincipal;
  /** True when Socket.IO restored the rooms of an earlier connection (connection state recovery). */
  readonly recovered: boolean;
  rooms(): ReadonlySet<string>;
  join(room: string): Promise<void>;
  leave(room: string): Promise<void>;
}

/**
 * What a feature answers a client event with: the payload arrives validated against `payload`'s
 * class-validator rules; the result is the ack, and a thrown error becomes the ack's problem, mapped as
 * HTTP maps it. `summary` and `ack` document the event (the AsyncAPI document); `ack` is checked by the
 * compiler against what `handle` resolves with.
 */
export interface ClientEventHandler<Connection, Payload, Ack> {
  event: string;
  summary: string;
  payload: Type<Payload>;
  ack: Schema<Ack>;
  handle: (payload: Payload, connection: Connection) => Promise<NoInfer<Ack>>;
}

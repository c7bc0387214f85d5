import { Injectable, Logger, type Type } from '@nestjs/common';
import { PROBLEM_SCHEMA } from '../common/docs/problem-schema';
import { type AnySchema, constant, object } from '../common/docs/typed-schema';
import { type Problem } from '../common/errors/problem';
import { SchemaValidator } from '../common/validation/schema-validator';
import { type AgentConnection, type ClientEventHandler, type PortalConnection } from './realtime-connections';

/** A feature's handler with the validator of its payload, built once. */
export interface RegisteredHandler<Connection> {
  validator: SchemaValidator<unknown>;
  handle: (payload: unknown, connection: Connection) => Promise<unknown>;
  /** What the API documents say of it. */
  docs: { summary: string; payload: Type; ack: AnySchema };
}

/** The ack of an event that failed: how a namespace's clients receive the problem, and its schema. */
export interface FailureAck {
  build: (problem: Problem) => unknown;
  schema: AnySchema;
}

/**
 * `{ ok: false, error }` on both namespaces, beside the `{ ok: true, ... }` of a handled event (the
 * `command:result` ack of the contract); an agent's heartbeat answers without `ok`, so an agent tells a
 * failure by `error`.
 */
const FAILURE_ACK: FailureAck = {
  build: (problem) => ({ ok: false, error: problem }),
  schema: object<{ ok: false; error: Problem }>({ ok: constant(false), error: PROBLEM_SCHEMA }),
};

type Listener<Connection> = (connection: Connection) => void;

/** One namespace's handlers and connection listeners. */
export class NamespaceHandlers<Connection> {
  private readonly handlers = new Map<string, RegisteredHandler<Connection>>();
  private readonly connected = new Set<Listener<Connection>>();
  private readonly disconnected = new Set<Listener<Connection>>();
  private readonly logger = new Logger('RealtimeHandlers');

  constructor(
    readonly namespace: string,
    readonly failureAck: FailureAck = FAILURE_ACK,
  ) {}

  /** Registers a client event; a second handler for one event is a programming error, refused at start-up. */
  handle<Payload, Ack>({
    event,
    summary,
    payload,
    ack,
    handle,
  }: ClientEventHandler<Connection, Payload, Ack>): void {
    if (this.handlers.has(event)) throw new Error(`${this.namespace} already handles "${event}"`);
    this.handlers.set(event, {
      validator: new SchemaValidator<unknown>(payload),
      handle: (value, connection) => handle(value as Payload, connection),
      docs: { summary, payload, ack },
    });
  }

  /** Called synchronously for each new connection, before any of its events is handled. */
  onConnected(listener: Listener<Connection>): () => void {
    this.connected.add(listener);
    return () => this.connected.delete(listener);
  }

  /** Called once per connection when its socket has closed, for whatever reason. */
  onDisconnected(listener: Listener<Connection>): () => void {
    this.disconnected.add(listener);
    return () => this.disconnected.delete(listener);
  }

  events(): ReadonlyMap<string, RegisteredHandler<Connection>> {
    return this.handlers;
  }

  /** False when a listener failed: the connection is not fully set up, and should be closed. */
  announceConnected(connection: Connection): boolean {
    return this.announce(this.connected, connection, 'connection');
  }

  announceDisconnected(connection: Connection): void {
    this.announce(this.disconnected, connection, 'disconnection');
  }

  /** Every listener hears of it, whichever of them fails. */
  private announce(listeners: Set<Listener<Connection>>, connection: Connection, what: string): boolean {
    let allHeard = true;
    for (const listener of listeners) {
      try {
        listener(connection);
      } catch (error) {
        allHeard = false;
        this.logger.error(`A ${what} listener on ${this.namespace} failed: ${String(error)}`);
      }
    }
    return allHeard;
  }
}

/**
 * The inbound side of the realtime transport: feature modules register the client events they answer
 * and listen to connections coming and going, on `/agent` and `/portal`; the gateways authenticate,
 * validate and dispatch. Registrations happen at module init, before the server accepts connections.
 */
@Injectable()
export class RealtimeHandlers {
  readonly agent = new NamespaceHandlers<AgentConnection>('/agent', FAILURE_ACK);
  readonly portal = new NamespaceHandlers<PortalConnection>('/portal', FAILURE_ACK);
}

import { PROBLEM_SCHEMA } from '../common/docs/problem-schema';
import { type AnySchema, allOf, object, oneOfValues, type Schema, string } from '../common/docs/typed-schema';
import { type Problem } from '../common/errors/problem';

/** The Socket.IO namespaces of the contract (docs/guide.md#socketio). */
export type RealtimeNamespace = '/agent' | '/portal';

/** What the AsyncAPI document says of a server → client event: one declaration beside its name. */
export interface ServerEventDocs<Payload> {
  namespaces: readonly RealtimeNamespace[];
  summary: string;
  payload: Schema<Payload>;
  /** The ack the client answers with, for an event sent expecting one. */
  ack?: AnySchema;
}

/**
 * A server → client event and the type of its payload. Features declare theirs (`device:status` in
 * devices/) and emit them through RealtimeService, which so stays free of feature types.
 */
export interface ServerEvent<Payload> {
  readonly name: string;
  /** Never set: it only carries the payload's type. */
  readonly payload?: Payload;
}

/** A declared server event as the documents list it. */
export interface DeclaredServerEvent {
  name: string;
  namespaces: readonly RealtimeNamespace[];
  summary: string;
  payload: AnySchema;
  ack?: AnySchema;
}

const declared: DeclaredServerEvent[] = [];

/**
 * Declares a server event, documented: every declaration is listed by declaredServerEvents, so the
 * AsyncAPI document cannot leave one out. One name is declared once per namespace.
 */
export function serverEvent<Payload>(name: string, docs: ServerEventDocs<Payload>): ServerEvent<Payload> {
  const clash = declared.find(
    (event) =>
      event.name === name && event.namespaces.some((namespace) => docs.namespaces.includes(namespace)),
  );
  if (clash) throw new Error(`The server event "${name}" is declared twice`);
  declared.push({ name, ...docs });
  return { name };
}

/** Every server event declared so far (by the modules loaded), in declaration order. */
export function declaredServerEvents(): readonly DeclaredServerEvent[] {
  return declared;
}

/**
 * Why the gateway closes a socket; sent in `connection:closing` just before it closes the socket.
 * `token_expired` is sent on /portal only. ("Session" is kept for diagnostic sessions.)
 */
export const CONNECTION_CLOSE_REASONS = ['replaced', 'revoked', 'shutdown', 'token_expired'] as const;
export type ConnectionCloseReason = (typeof CONNECTION_CLOSE_REASONS)[number];

export const CONNECTION_CLOSING = serverEvent<{ reason: ConnectionCloseReason }>('connection:closing', {
  namespaces: ['/agent', '/portal'],
  summary:
    'Sent just before the server closes the socket. `replaced` (a newer connection of the device took ' +
    'over) and `revoked` (the device was deleted): do not reconnect. `shutdown`: the instance is stopping; ' +
    'reconnect (to another). `token_expired` (/portal): reconnect with a fresh token.',
  payload: object<{ reason: ConnectionCloseReason }>({ reason: oneOfValues(CONNECTION_CLOSE_REASONS) }),
});

export const CONNECTION_CLOSING_EVENT = CONNECTION_CLOSING.name;

/** A failed event whose client asked for no ack: the problem, naming the event. */
export const EVENT_FAILED = serverEvent<Problem & { event: string }>('error', {
  namespaces: ['/agent', '/portal'],
  summary:
    'The problem of an event that failed (bad payload, unknown event, refusal) when the client sent it ' +
    'without an ack; with an ack, the problem is in the ack instead.',
  payload: allOf(PROBLEM_SCHEMA, object<{ event: string }>({ event: string({ description: 'The event' }) })),
});

/** Room names, shared by every instance through the Socket.IO adapter. */
export const rooms = {
  customer: (customerId: string): string => `customer:${customerId}`,
  device: (deviceId: string): string => `device:${deviceId}`,
};

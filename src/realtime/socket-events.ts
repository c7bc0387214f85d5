import { Logger } from '@nestjs/common';
import { type Namespace, type Server, type Socket } from 'socket.io';
import { commonProblems, ValidationFailedError } from '../common/errors/common.errors';
import { type Problem } from '../common/errors/problem';
import { ProblemFilter } from '../common/http/problem.filter';
import { type SchemaValidator } from '../common/validation/schema-validator';
import { unstorableInput } from '../common/validation/storable-input';
import { AppConfig } from '../config/app-config';
import { type RegisteredHandler } from './realtime-handlers';
import { UnknownEventError } from './realtime.errors';
import { CONNECTION_CLOSING_EVENT, type ConnectionCloseReason, EVENT_FAILED } from './realtime.events';

const logger = new Logger('Realtime');

/** The app's own filter for each Socket.IO server, so that sockets answer exactly as HTTP does. */
const filters = new WeakMap<Server, ProblemFilter>();
/** Only for a server built without RealtimeIoAdapter: the default options, and nothing counted. */
const unregistered = new ProblemFilter({
  catalog: commonProblems,
  dependencyRetryAfterSec: new AppConfig().DEPENDENCY_RETRY_AFTER_SEC,
});

/** Called by the IoAdapter for every server it builds: its sockets' failures go through `filter`. */
export function answerProblemsWith(server: Server, filter: ProblemFilter): void {
  filters.set(server, filter);
}

/** Sent to a client that did not ask for an ack, so a bad payload is never silently dropped. */
const ERROR_EVENT = EVENT_FAILED.name;

/**
 * The problem object a failed event answers with: the same mapping (and the same logging) as HTTP.
 */
export function problemForEvent(error: unknown, socket: Socket, event: string, method = 'EVENT'): Problem {
  return (filters.get(socket.nsp.server) ?? unregistered).toProblem(error, {
    url: `${socket.nsp.name}#${event}`,
    method,
    id: socket.id,
    log: {
      warn: (fields, message) => {
        logger.warn(fields, message);
      },
      error: (fields, message) => {
        logger.error(fields, message);
      },
    },
  });
}

type Ack = (response: unknown) => void;

/**
 * Registers an event handler with the payload discipline of the contract (docs/guide.md#socketio): the payload is validated like an
 * HTTP body; the handler's result is the ack; any failure becomes a problem in the ack, or in an `error`
 * event when the client asked for no ack. Nothing a client sends can crash the process or hang.
 */
function handleEvent<T>(
  socket: Socket,
  event: string,
  validator: SchemaValidator<T>,
  handler: (payload: T) => Promise<unknown>,
  failureAck: (problem: Problem) => unknown = (problem) => ({ error: problem }),
): void {
  socket.on(event, (...args: unknown[]) => {
    const { payload, reply } = splitArguments(args);
    const fail = failureReply(socket, event, reply, failureAck);
    const unstorable = unstorableInput(payload);
    if (unstorable.length > 0) {
      fail(new ValidationFailedError(unstorable));
      return;
    }
    const checked = validator.check(payload);
    if ('errors' in checked) {
      fail(new ValidationFailedError(checked.errors));
      return;
    }
    handler(checked.value).then((result) => reply?.(result), fail);
  });
}

/**
 * The ack is the last argument, not the second: a client that emits with an ack but no payload sends
 * the ack alone, and would otherwise wait for an answer that goes to an `error` event instead.
 */
function splitArguments(args: unknown[]): { payload: unknown; reply: Ack | undefined } {
  const last = args.at(-1);
  const reply = typeof last === 'function' ? (last as Ack) : undefined;
  return { payload: reply ? args.slice(0, -1)[0] : args[0], reply };
}

function failureReply(
  socket: Socket,
  event: string,
  reply: Ack | undefined,
  failureAck: (problem: Problem) => unknown,
): (error: unknown) => void {
  return (error) => {
    const problem = problemForEvent(error, socket, event);
    if (reply) reply(failureAck(problem));
    else socket.emit(ERROR_EVENT, { event, ...problem });
  };
}

/** An event the namespace does not know is answered with a problem too, never left unanswered. */
function refuseUnknownEvents(
  socket: Socket,
  known: readonly string[],
  failureAck: (problem: Problem) => unknown = (problem) => ({ error: problem }),
): void {
  socket.onAny((event: unknown, ...args: unknown[]) => {
    const name = typeof event === 'string' ? event : String(event);
    if (known.includes(name)) return;
    const { reply } = splitArguments(args);
    failureReply(socket, name, reply, failureAck)(new UnknownEventError(name, known));
  });
}

/**
 * Answers a socket's events with the handlers registered for its namespace, each with the payload
 * discipline of handleEvent, and any other event with an unknown-event problem.
 */
export function dispatchEvents<Connection>(
  socket: Socket,
  handlers: ReadonlyMap<string, RegisteredHandler<Connection>>,
  connection: Connection,
  failureAck: (problem: Problem) => unknown,
): void {
  refuseUnknownEvents(socket, [...handlers.keys()], failureAck);
  for (const [event, { validator, handle }] of handlers) {
    handleEvent(socket, event, validator, (payload) => handle(payload, connection), failureAck);
  }
}

/**
 * Tells the client why, then closes its connection; a socket closed by the server does not reconnect.
 * A shutdown is announced with announceShutdown instead, because those clients should reconnect.
 */
export function closeConnection(socket: Socket, reason: Exclude<ConnectionCloseReason, 'shutdown'>): void {
  if (socket.disconnected) return;
  // Not socket.emit: with connection state recovery it goes through the cluster adapter, which writes
  // the packet only after a Redis round trip, by which time the disconnect below has removed the socket
  // from its room and the packet is dropped. The socket is on this instance: a local emit to its own
  // room is written at once, ahead of the disconnect packet.
  socket.nsp.local.to(socket.id).emit(CONNECTION_CLOSING_EVENT, { reason });
  socket.disconnect(true);
}

/**
 * Tells every socket of this instance's namespace that the instance is stopping, and resolves once the
 * packet has been handed to each connection's transport. The server then closes the connections at the
 * transport, which clients take as a reason to reconnect (to another instance); closeConnection's
 * server disconnect would stop them. Waiting matters: a connection still writing an earlier packet
 * (a heartbeat ack) queues this one, and the server's close discards what is queued.
 */
export async function announceShutdown(namespace: Namespace): Promise<void> {
  const handedOver = [...namespace.sockets.values()].map((socket) => queueDrained(socket.conn));
  const reason: ConnectionCloseReason = 'shutdown';
  namespace.local.emit(CONNECTION_CLOSING_EVENT, { reason });
  await Promise.all(handedOver);
}

/**
 * How long the shutdown waits for one connection to take the announcement. A client that stopped reading
 * (a frozen device, a stalled link) never drains; it misses the announcement rather than holding the
 * shutdown past its grace period.
 */
const ANNOUNCEMENT_WAIT_MS = 1000;

/** Resolves when the connection next hands its queued packets to the transport, closes, or is too slow. */
function queueDrained(connection: Socket['conn']): Promise<void> {
  if (connection.readyState !== 'open') return Promise.resolve();
  return new Promise((resolve) => {
    const settle = (): void => {
      clearTimeout(timer);
      connection.off('drain', settle);
      connection.off('close', settle);
      resolve();
    };
    const timer = setTimeout(settle, ANNOUNCEMENT_WAIT_MS);
    connection.on('drain', settle);
    connection.on('close', settle);
  });
}

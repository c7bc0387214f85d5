import { readFileSync } from 'node:fs';
import { type Server, STATUS_CODES } from 'node:http';
import { type Socket } from 'node:net';
import { type FastifyHttpOptions } from 'fastify';
import { CommonErrorCode, commonProblems } from '../errors/common.errors';
import { PROBLEM_CONTENT_TYPE, problemType } from '../errors/problem';

export interface ConnectionLimits {
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_REQUEST_TIMEOUT_MS: number;
  HTTP_IDLE_TIMEOUT_MS: number;
}

/** How long a refused connection may stay open for its 503 to be read before it is destroyed. */
const REFUSED_CONNECTION_LINGER_MS = 1000;
/** File descriptors kept free for what is not a client connection: database, Redis, logs, DATA_DIR. */
const RESERVED_FILE_DESCRIPTORS = 256;

const refused = new WeakSet<Socket>();
const openConnections = new WeakMap<Server, Set<Socket>>();

/**
 * The Fastify options that bound what a slow or idle client costs: headers, the whole request (body
 * included) and keep-alive idleness each have a deadline, after which Node answers 408 and closes.
 */
export function connectionTimeoutOptions(
  limits: ConnectionLimits,
): Pick<FastifyHttpOptions<Server>, 'requestTimeout' | 'keepAliveTimeout' | 'http' | 'clientErrorHandler'> {
  return {
    requestTimeout: limits.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: limits.HTTP_IDLE_TIMEOUT_MS,
    http: {
      headersTimeout: limits.HTTP_HEADERS_TIMEOUT_MS,
      // Node enforces the two request timeouts on this period, 30 s by default: they would be late by that.
      connectionsCheckingInterval: Math.min(1000, Math.ceil(limits.HTTP_HEADERS_TIMEOUT_MS / 4)),
    },
    clientErrorHandler: answerClientError,
  };
}

/** A raw HTTP/1.1 problem response, for the places that answer before Fastify has a request. */
function rawProblem(status: number, code: CommonErrorCode, detail: string, headers = ''): string {
  const body = JSON.stringify({
    type: problemType(code),
    title: commonProblems[code].title,
    status,
    detail,
    code,
  });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${headers}\r\n${body}`
  );
}

/**
 * Errors Node's HTTP parser raises before there is a request to route (a timeout, unparsable or
 * oversized headers): answered as problem+json like everything else, then the connection is closed.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const [status, code, detail] =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, CommonErrorCode.RequestTimeout, 'The request was not received in time.']
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? [431, CommonErrorCode.HeadersTooLarge, 'The request headers are too large.']
          : [400, CommonErrorCode.MalformedRequest, 'The request could not be parsed as HTTP/1.1.'];
    socket.write(rawProblem(status, code, detail));
  }
  socket.destroy();
}

/** The soft limit on open files of this process (Linux), or undefined where it cannot be read. */
function openFilesLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return line?.[1] === undefined || line[1] === 'unlimited' ? undefined : Number(line[1]);
  } catch {
    return undefined;
  }
}

/** The configured cap, lowered to what the process's open-files limit allows. */
export function effectiveConnectionLimit(configured: number, fileLimit = openFilesLimit()): number {
  if (fileLimit === undefined) return configured;
  return Math.max(1, Math.min(configured, fileLimit - RESERVED_FILE_DESCRIPTORS));
}

/**
 * Caps the open connections of the server. A connection past the cap is not dropped silently: a request
 * on it is answered 503 (see isRefusedConnection) and it is destroyed shortly after, so that an attacker
 * holding connections open exhausts the cap, not the process's file descriptors.
 */
export function capConnections(server: Server, limit: number): void {
  const open = new Set<Socket>();
  openConnections.set(server, open);
  server.prependListener('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
    });
    if (open.size <= limit) return;
    refused.add(socket);
    const timer = setTimeout(() => socket.destroy(), REFUSED_CONNECTION_LINGER_MS);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
    });
  });
}

/** True for a connection accepted past the cap: its request is refused before any other work. */
export function isRefusedConnection(socket: Socket): boolean {
  return refused.has(socket);
}

/**
 * Destroys every connection the server still holds, upgraded ones (sockets) included, which Node's
 * closeAllConnections() no longer tracks: a client that stopped reading would otherwise hold the close
 * for as long as the WebSocket close handshake waits. Returns how many there were.
 */
export function destroyOpenConnections(server: Server): number {
  const open = [...(openConnections.get(server) ?? [])];
  for (const socket of open) socket.destroy();
  return open.length;
}

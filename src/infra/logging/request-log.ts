import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type Logger } from 'pino';

/** Who made a request, as a log line may name it: a kind and an id, never a credential. */
export interface LoggedPrincipal {
  kind: string;
  id: string;
}

export type RequestLogger = (request: FastifyRequest, reply: FastifyReply, route: string) => void;

/**
 * One debug line per answered request: method, route template, status, duration, request id and who
 * made it. The route is the template (`/v1/devices/:id`), never the raw URL, whose path and query may
 * carry anything a client sent. Undefined unless debug is on when the app starts, so that at info and
 * above a request pays for no field building, only for one check of this value.
 */
export function createRequestLogger(
  logger: Logger,
  principalOf: (request: FastifyRequest) => LoggedPrincipal | undefined,
): RequestLogger | undefined {
  if (!logger.isLevelEnabled('debug')) return undefined;
  return (request, reply, route) => {
    const principal = principalOf(request);
    logger.debug(
      {
        requestId: request.id,
        method: request.method,
        route,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        principalKind: principal?.kind,
        principalId: principal?.id,
      },
      'request',
    );
  };
}

import { type Namespace, type Socket } from 'socket.io';
import { AuthFailure, type AuthFailureReason, REFUSAL_REASONS, refusalFor } from '../auth/auth.errors';
import { type PrincipalKind } from '../auth/principal';
import { type MetricsService } from '../infra/metrics/metrics.service';
import { problemForEvent } from './socket-events';

type HandshakeError = Error & { data: { code: string; retryAfterSec?: number } };

/**
 * The error a refused handshake ends with: clients receive it as `connect_error`, with `message` and
 * `data.code`. The reason itself is logged and counted, never sent.
 */
function authenticationError(reason: AuthFailureReason): HandshakeError {
  const { code } = refusalFor(reason, 'handshake auth');
  return Object.assign(new Error('unauthorized'), { data: { code } });
}

/**
 * A handshake whose verification failed (the database or the identity provider unavailable): mapped,
 * logged and counted as the same failure over HTTP would be, so `data.code` is the problem's code
 * (`dependency_unavailable`, with `retryAfterSec`) and the client knows to retry rather than give up.
 */
function verificationFailure(error: unknown, socket: Socket): HandshakeError {
  const problem = problemForEvent(error, socket, 'handshake', 'HANDSHAKE');
  const retryAfterSec = typeof problem.retryAfterSec === 'number' ? problem.retryAfterSec : undefined;
  return Object.assign(new Error(problem.detail), {
    data: { code: problem.code, ...(retryAfterSec === undefined ? {} : { retryAfterSec }) },
  });
}

/**
 * Authenticates every connection of a namespace in its handshake (guards do not run there): the same
 * verification as HTTP, refusals counted as `<kind>-socket` by reason and answered as `connect_error`, a
 * verifier that cannot answer reported with the problem HTTP would answer. `accept` stores the principal
 * on the socket.
 */
export function authenticateHandshakes<P>(
  namespace: Namespace,
  kind: PrincipalKind,
  metrics: MetricsService,
  verify: (auth: Record<string, unknown>) => Promise<P | AuthFailure>,
  accept: (socket: Socket, principal: P) => void,
): void {
  const principal = `${kind}-socket`;
  metrics.declareAuthFailures(principal, REFUSAL_REASONS[kind]);
  namespace.use((socket, next) => {
    verify(socket.handshake.auth).then(
      (result) => {
        if (result instanceof AuthFailure) {
          metrics.countAuthFailure(principal, result.reason);
          next(authenticationError(result.reason));
          return;
        }
        accept(socket, result);
        next();
      },
      (error: unknown) => {
        next(verificationFailure(error, socket));
      },
    );
  });
}

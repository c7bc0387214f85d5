import { Logger } from '@nestjs/common';
import { type Namespace, type Socket } from 'socket.io';
import { AuthFailure, type AuthFailureReason, REFUSAL_REASONS, refusalFor } from '../auth/auth.errors';
import { type PrincipalKind } from '../auth/principal';
import { type MetricsService } from '../infra/metrics/metrics.service';

/**
 * The error a refused handshake ends with: clients receive it as `connect_error`, with `message` and
 * `data.code`. The reason itself is logged and counted, never sent.
 */
export function authenticationError(
  reason: AuthFailureReason | 'unavailable',
): Error & { data: { code: string } } {
  if (reason === 'unavailable') {
    return Object.assign(new Error('The gateway cannot verify credentials right now; retry shortly'), {
      data: { code: 'service_unavailable' },
    });
  }
  const { code } = refusalFor(reason, 'handshake auth');
  return Object.assign(new Error('unauthorized'), { data: { code } });
}

const logger = new Logger('Realtime');

/**
 * Authenticates every connection of a namespace in its handshake (guards do not run there): the same
 * verification as HTTP, refusals counted as `<kind>-socket` by reason and answered as `connect_error`, a
 * verifier that cannot answer reported as unavailable. `accept` stores the principal on the socket.
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
        logger.warn(`Verifying a ${principal} handshake failed: ${String(error)}`);
        next(authenticationError('unavailable'));
      },
    );
  });
}

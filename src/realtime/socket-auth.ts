import { type AuthFailureReason } from '../auth/auth.errors';
import { AuthErrorCode } from '../auth/auth.errors';

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
  const code =
    reason === 'missing'
      ? AuthErrorCode.MissingCredentials
      : reason === 'expired'
        ? AuthErrorCode.TokenExpired
        : AuthErrorCode.InvalidCredentials;
  return Object.assign(new Error('unauthorized'), { data: { code } });
}

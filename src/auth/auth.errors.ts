import { DomainError } from '../common/errors/domain-error';
import { type ProblemCatalog } from '../common/errors/problem-catalog';
import { type PrincipalKind } from './principal';

export enum AuthErrorCode {
  MissingCredentials = 'missing_credentials',
  InvalidCredentials = 'invalid_credentials',
  TokenExpired = 'token_expired',
  RouteWithoutPrincipal = 'route_without_principal',
  UnguardedContext = 'unguarded_context',
}

export const authProblems = {
  [AuthErrorCode.MissingCredentials]: { status: 401, title: 'Credentials are required' },
  [AuthErrorCode.InvalidCredentials]: { status: 401, title: 'The credentials are not valid' },
  [AuthErrorCode.TokenExpired]: { status: 401, title: 'The access token has expired' },
  // A programming error: every route must say who may call it. Refused loudly rather than left open.
  [AuthErrorCode.RouteWithoutPrincipal]: { status: 500, title: 'The route declares no principal' },
  // Also a programming error: a handler the guard cannot authenticate must not run at all.
  [AuthErrorCode.UnguardedContext]: { status: 500, title: 'The handler cannot be authenticated' },
} satisfies ProblemCatalog<AuthErrorCode>;

export class MissingCredentialsError extends DomainError<AuthErrorCode.MissingCredentials> {
  readonly code = AuthErrorCode.MissingCredentials;

  constructor(accepted: string) {
    super(`Send ${accepted} in the Authorization header.`);
  }
}

/** Deliberately vague: the reason (unknown id, wrong secret, bad signature) is logged, never returned. */
export class InvalidCredentialsError extends DomainError<AuthErrorCode.InvalidCredentials> {
  readonly code = AuthErrorCode.InvalidCredentials;

  constructor() {
    super('The credentials were not accepted.');
  }
}

export class TokenExpiredError extends DomainError<AuthErrorCode.TokenExpired> {
  readonly code = AuthErrorCode.TokenExpired;

  constructor() {
    super('The access token has expired; refresh it and try again.');
  }
}

export class RouteWithoutPrincipalError extends DomainError<AuthErrorCode.RouteWithoutPrincipal> {
  readonly code = AuthErrorCode.RouteWithoutPrincipal;

  constructor(route: string) {
    super(`${route} declares no principal.`);
  }
}

/**
 * The global guard authenticates HTTP requests only. A handler it is asked about in any other context
 * (a @SubscribeMessage handler, a microservice pattern) is refused, since it would otherwise run with no
 * caller authenticated. Socket events are authenticated by the handshake and registered through
 * RealtimeHandlers.
 */
export class UnguardedContextError extends DomainError<AuthErrorCode.UnguardedContext> {
  readonly code = AuthErrorCode.UnguardedContext;

  constructor(contextType: string, handler: string) {
    super(
      `${handler} is a ${contextType} handler, which the global guard cannot authenticate: authenticate ` +
        'sockets in their handshake (realtime/socket-auth.ts) and register events through RealtimeHandlers ' +
        '(realtime/realtime-handlers.ts), not @SubscribeMessage.',
    );
  }
}

/**
 * Why a credential was refused; logged and counted (the `reason` label of auth_failures_total, so a
 * closed set), never sent to the caller.
 */
export type AuthFailureReason =
  | 'missing'
  | 'malformed'
  | 'unknown_device'
  | 'revoked'
  | 'wrong_secret'
  | 'bad_token'
  | 'expired'
  | 'unknown_key';

/** The reasons each kind of credential is refused for: their counters exist, at zero, from start-up. */
export const REFUSAL_REASONS: Record<PrincipalKind, readonly AuthFailureReason[]> = {
  device: ['missing', 'malformed', 'unknown_device', 'revoked', 'wrong_secret'],
  customer: ['missing', 'malformed', 'bad_token', 'expired', 'unknown_key'],
  service: ['missing', 'malformed', 'bad_token'],
};

export class AuthFailure {
  constructor(
    readonly reason: AuthFailureReason,
    readonly detail: string,
  ) {}
}

/**
 * What the caller is told about a refusal, the same over HTTP and in a socket handshake: missing,
 * expired, or simply not accepted. `accepted` describes the credentials the caller could have sent.
 */
export function refusalFor(
  reason: AuthFailureReason,
  accepted: string,
): MissingCredentialsError | TokenExpiredError | InvalidCredentialsError {
  if (reason === 'missing') return new MissingCredentialsError(accepted);
  if (reason === 'expired') return new TokenExpiredError();
  return new InvalidCredentialsError();
}

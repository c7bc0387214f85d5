import { DomainError, type FieldError } from './domain-error';
import { type ProblemCatalog } from './problem-catalog';

export enum CommonErrorCode {
  ValidationFailed = 'validation_failed',
  MalformedRequest = 'malformed_request',
  InvalidCursor = 'invalid_cursor',
  Unauthorized = 'unauthorized',
  Forbidden = 'forbidden',
  NotFound = 'not_found',
  MethodNotAllowed = 'method_not_allowed',
  RequestTimeout = 'request_timeout',
  Conflict = 'conflict',
  PayloadTooLarge = 'payload_too_large',
  UriTooLong = 'uri_too_long',
  UnsupportedMediaType = 'unsupported_media_type',
  TooManyRequests = 'too_many_requests',
  HeadersTooLarge = 'headers_too_large',
  ServiceUnavailable = 'service_unavailable',
  DependencyUnavailable = 'dependency_unavailable',
  Internal = 'internal_error',
}

export const commonProblems = {
  [CommonErrorCode.ValidationFailed]: { status: 400, title: 'The request is not valid' },
  [CommonErrorCode.MalformedRequest]: { status: 400, title: 'The request could not be read' },
  [CommonErrorCode.InvalidCursor]: { status: 400, title: 'The cursor is not valid' },
  [CommonErrorCode.Unauthorized]: { status: 401, title: 'Authentication is required' },
  [CommonErrorCode.Forbidden]: { status: 403, title: 'Access is not allowed' },
  [CommonErrorCode.NotFound]: { status: 404, title: 'Not found' },
  [CommonErrorCode.MethodNotAllowed]: { status: 405, title: 'Method not allowed' },
  [CommonErrorCode.RequestTimeout]: { status: 408, title: 'The request was not received in time' },
  [CommonErrorCode.Conflict]: { status: 409, title: 'Conflict' },
  [CommonErrorCode.PayloadTooLarge]: { status: 413, title: 'The request body is too large' },
  [CommonErrorCode.UriTooLong]: { status: 414, title: 'The request URI is too long' },
  [CommonErrorCode.UnsupportedMediaType]: { status: 415, title: 'Unsupported media type' },
  [CommonErrorCode.TooManyRequests]: { status: 429, title: 'Too many requests' },
  [CommonErrorCode.HeadersTooLarge]: { status: 431, title: 'The request headers are too large' },
  [CommonErrorCode.ServiceUnavailable]: { status: 503, title: 'The service is unavailable' },
  [CommonErrorCode.DependencyUnavailable]: {
    status: 503,
    title: 'A service the gateway depends on is unavailable',
  },
  [CommonErrorCode.Internal]: { status: 500, title: 'Internal error' },
} satisfies ProblemCatalog<CommonErrorCode>;

export class ValidationFailedError extends DomainError<CommonErrorCode.ValidationFailed> {
  readonly code = CommonErrorCode.ValidationFailed;

  constructor(readonly errors: FieldError[]) {
    super(errors.map((error) => `${error.field}: ${error.message}`).join('; '));
  }
}

/** What the gateway depends on, as named in logs and metrics (a closed set: metric labels stay bounded). */
export const DEPENDENCIES = ['database', 'cache', 'identity_provider'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

const DEPENDENCY_NAMES: Record<Dependency, string> = {
  database: 'database',
  cache: 'cache',
  identity_provider: 'identity provider',
};

/**
 * A storage, cache or identity-provider call failed for a reason that is not the caller's (unreachable,
 * timed out, shutting down). Answered with 503 and a Retry-After so that clients retry; the cause is
 * logged, never sent.
 */
export class DependencyUnavailableError extends DomainError<CommonErrorCode.DependencyUnavailable> {
  readonly code = CommonErrorCode.DependencyUnavailable;

  constructor(
    readonly dependency: Dependency,
    override readonly cause: unknown,
  ) {
    super(`The gateway's ${DEPENDENCY_NAMES[dependency]} is unavailable; retry later.`);
  }
}

/** A valid principal that may not do this (docs/guide.md#principals-and-authentication); the gateway's one 403 code. */
export class ForbiddenError extends DomainError<CommonErrorCode.Forbidden> {
  readonly code = CommonErrorCode.Forbidden;
}

export class InvalidCursorError extends DomainError<CommonErrorCode.InvalidCursor> {
  readonly code = CommonErrorCode.InvalidCursor;

  constructor() {
    super('The cursor is malformed; pass the nextCursor of a previous page unchanged.');
  }
}

/** A connection accepted past HTTP_MAX_CONNECTIONS: refused before any work, so clients back off. */
export class ConnectionLimitError extends DomainError<CommonErrorCode.ServiceUnavailable> {
  readonly code = CommonErrorCode.ServiceUnavailable;

  constructor() {
    super('The gateway is at its connection limit; retry shortly, preferably on another instance.');
  }
}

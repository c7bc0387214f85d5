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
  DependencyFailed = 'dependency_failed',
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
  [CommonErrorCode.DependencyFailed]: { status: 503, title: 'A backing service failed' },
  [CommonErrorCode.Internal]: { status: 500, title: 'Internal error' },
} satisfies ProblemCatalog<CommonErrorCode>;

export class ValidationFailedError extends DomainError<CommonErrorCode.ValidationFailed> {
  readonly code = CommonErrorCode.ValidationFailed;

  constructor(readonly errors: FieldError[]) {
    super(errors.map((error) => `${error.field}: ${error.message}`).join('; '));
  }
}

/**
 * A storage or cache call failed for a reason that is not the caller's (network, timeout, server error).
 * Answered with 503 so that clients retry, and logged with its cause.
 */
export class DependencyFailedError extends DomainError<CommonErrorCode.DependencyFailed> {
  readonly code = CommonErrorCode.DependencyFailed;

  constructor(
    readonly dependency: string,
    override readonly cause: unknown,
  ) {
    super(`The ${dependency} did not answer correctly; try again shortly.`);
  }
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

import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import {
  CommonErrorCode,
  type Dependency,
  DependencyUnavailableError,
  ValidationFailedError,
} from '../errors/common.errors';
import { DomainError, type FieldError } from '../errors/domain-error';
import { type ProblemCatalog, type ProblemSpec } from '../errors/problem-catalog';
import { type Problem, PROBLEM_CONTENT_TYPE, problemType } from '../errors/problem';
import { toFieldError } from '../validation/schema-validator';

/** Codes for errors raised by Nest or Fastify themselves, which carry only a status. */
const CODE_BY_STATUS: Record<number, CommonErrorCode> = {
  400: CommonErrorCode.MalformedRequest,
  401: CommonErrorCode.Unauthorized,
  403: CommonErrorCode.Forbidden,
  404: CommonErrorCode.NotFound,
  405: CommonErrorCode.MethodNotAllowed,
  408: CommonErrorCode.RequestTimeout,
  409: CommonErrorCode.Conflict,
  413: CommonErrorCode.PayloadTooLarge,
  414: CommonErrorCode.UriTooLong,
  415: CommonErrorCode.UnsupportedMediaType,
  429: CommonErrorCode.TooManyRequests,
  431: CommonErrorCode.HeadersTooLarge,
  503: CommonErrorCode.ServiceUnavailable,
};

/** Fastify's own errors (bad JSON, body too large, wrong content type) carry a 4xx statusCode. */
function fastifyClientErrorStatus(error: unknown): number | undefined {
  if (error instanceof Error && 'statusCode' in error && typeof error.statusCode === 'number') {
    const status = error.statusCode;
    return status >= 400 && status < 500 ? status : undefined;
  }
  return undefined;
}

/** Fastify's JSON Schema validation (routes with @BodySchema) reports ajv errors in `validation`. */
function schemaViolationsOf(error: unknown): FieldError[] | undefined {
  if (!(error instanceof Error) || !('validation' in error) || !Array.isArray(error.validation))
    return undefined;
  return (error.validation as Parameters<typeof toFieldError>[0][]).map(toFieldError);
}

/**
 * What the mapping needs to know about the request or event it answers: an HTTP request, or a Socket.IO
 * event described the same way (`url` = namespace and event, `id` = socket id).
 */
export interface ProblemContext {
  url: string;
  method: string;
  id: string;
  log: {
    warn(fields: object, message: string): void;
    error(fields: object, message: string): void;
  };
}

/** Every code the app raises, with its status; the framework's own codes at least. */
export type AppProblemCatalog = ProblemCatalog<CommonErrorCode> & Readonly<Record<string, ProblemSpec>>;

export interface ProblemFilterOptions {
  /** The app's catalog (error-catalog.ts beside app.module), so that common/ knows no feature. */
  catalog: AppProblemCatalog;
  /** Sent as Retry-After (and `retryAfterSec`) with every dependency_unavailable problem. */
  dependencyRetryAfterSec: number;
  /** Called once per request or event answered dependency_unavailable, to count outages. */
  onDependencyUnavailable?: (dependency: Dependency) => void;
}

/**
 * The one place errors become HTTP responses: domain errors through the catalog, framework errors by
 * status, anything else a logged 500 that reveals nothing. Socket events map their errors here too.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  private readonly catalog: AppProblemCatalog;

  constructor(private readonly options: ProblemFilterOptions) {
    this.catalog = options.catalog;
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const problem = this.toProblem(exception, request);
    if (reply.sent) return;
    if (exception instanceof DependencyUnavailableError) {
      void reply.header('retry-after', String(this.options.dependencyRetryAfterSec));
    }
    void reply.status(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(problem);
  }

  toProblem(exception: unknown, request: ProblemContext): Problem {
    const violations = schemaViolationsOf(exception);
    if (violations) return this.toProblem(new ValidationFailedError(violations), request);
    const base = { instance: request.url, requestId: request.id };
    const domainCode: unknown = exception instanceof DomainError ? exception.code : undefined;
    const spec = typeof domainCode === 'string' ? this.specOf(domainCode) : undefined;
    if (exception instanceof DomainError && typeof domainCode === 'string' && spec) {
      const outage = exception instanceof DependencyUnavailableError;
      if (outage) {
        this.options.onDependencyUnavailable?.(exception.dependency);
        request.log.warn(
          { requestId: request.id, err: exception.cause, dependency: exception.dependency },
          exception.detail,
        );
      }
      return {
        type: problemType(domainCode),
        title: spec.title,
        status: spec.status,
        detail: exception.detail,
        code: domainCode,
        ...base,
        ...(exception instanceof ValidationFailedError ? { errors: exception.errors } : {}),
        ...(outage ? { retryAfterSec: this.options.dependencyRetryAfterSec } : {}),
        ...exception.extras,
      };
    }
    const status =
      exception instanceof HttpException ? exception.getStatus() : fastifyClientErrorStatus(exception);
    if (status !== undefined && status < 500) {
      const code = CODE_BY_STATUS[status] ?? CommonErrorCode.MalformedRequest;
      const detail =
        exception instanceof HttpException && status === 404
          ? `No route ${request.method} ${request.url.split('?')[0] ?? ''}`
          : exception instanceof Error
            ? exception.message
            : this.catalog[code].title;
      return { type: problemType(code), title: this.catalog[code].title, status, detail, code, ...base };
    }
    if (exception instanceof HttpException && exception.getStatus() === 503) {
      const code = CommonErrorCode.ServiceUnavailable;
      return {
        type: problemType(code),
        title: this.catalog[code].title,
        status: 503,
        detail: exception.message,
        code,
        ...base,
      };
    }
    request.log.error({ requestId: request.id, err: exception }, 'Unhandled error');
    const code = CommonErrorCode.Internal;
    return {
      type: problemType(code),
      title: this.catalog[code].title,
      status: 500,
      detail: 'The gateway failed to handle this request; it has been logged.',
      code,
      ...base,
    };
  }

  private specOf(code: string): ProblemSpec | undefined {
    return Object.hasOwn(this.catalog, code) ? this.catalog[code] : undefined;
  }
}

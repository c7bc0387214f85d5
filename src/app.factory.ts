import { type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { type DestinationStream } from 'pino';
import { AppModule } from './app.module';
import { ERROR_CATALOG } from './error-catalog';
import { ConnectionLimitError, ValidationFailedError } from './common/errors/common.errors';
import { PROBLEM_CONTENT_TYPE } from './common/errors/problem';
import {
  capConnections,
  connectionTimeoutOptions,
  effectiveConnectionLimit,
  isRefusedConnection,
} from './common/http/connection-limits';
import { isBodyOptional, routeBodyLimit } from './common/http/body-schema';
import { ProblemFilter } from './common/http/problem.filter';
import { REQUEST_ID_HEADER, requestIdFor } from './common/http/request-id';
import { createValidationPipe } from './common/http/validation';
import { compileSchema } from './common/validation/schema-validator';
import { unstorableInput } from './common/validation/storable-input';
import { type AppConfig } from './config/app-config';
import { type Principal, principalIdOf } from './auth/principal';
import { createRootLogger, PinoNestLogger } from './infra/logging/logger';
import { createRequestLogger } from './infra/logging/request-log';
import { MetricsService } from './infra/metrics/metrics.service';
import { RealtimeIoAdapter } from './realtime/realtime-io.adapter';

export interface CreateAppOptions {
  config: AppConfig;
  /** Where logs go; stdout when omitted. Tests pass a stream to read them back. */
  logDestination?: DestinationStream;
  /** Test-only additions (a deliberately slow route, say); production passes none. */
  extraModules?: Type[];
}

/**
 * Builds and initialises the gateway, ready to listen. main.ts and the e2e tests both start here, so
 * tests run exactly what production runs.
 */
export async function createApp({
  config,
  logDestination,
  extraModules = [],
}: CreateAppOptions): Promise<NestFastifyApplication> {
  const logger = createRootLogger(config, logDestination);
  const problems = new ProblemFilter({
    catalog: ERROR_CATALOG,
    dependencyRetryAfterSec: config.DEPENDENCY_RETRY_AFTER_SEC,
    // Only ever called while requests are served, by when the app and its metrics exist.
    onDependencyUnavailable: (dependency) => {
      metrics.countDependencyUnavailable(dependency);
    },
  });
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    // No info line per request: on the heartbeat path it would cost more than the work itself.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    // No pino child per request either: building one runs the redaction over its bindings, a measurable
    // share of a heartbeat. The few request-scoped log lines name the request id themselves.
    childLoggerFactory: (logger: FastifyBaseLogger) => logger,
    genReqId: requestIdFor,
    bodyLimit: config.BODY_LIMIT_BYTES,
    ...connectionTimeoutOptions(config),
    return503OnClosing: true,
    // A path Fastify cannot decode or route (a bad percent-escape, an over-long parameter) is answered
    // before any route or hook runs; it still gets a problem, not Fastify's own error body.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const problem = problems.toProblem(error, request);
      void reply
        .header(REQUEST_ID_HEADER, request.id)
        .code(problem.status)
        .header('content-type', PROBLEM_CONTENT_TYPE)
        .send(problem);
    },
    // The app has no Nest middleware; without middie, no request pays for its hook. A module that adds
    // middleware makes start-up fail (Fastify has no use(); Nest reports it as an unsupported route
    // path), never silently.
    skipMiddie: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, extraModules),
    adapter,
    {
      logger: new PinoNestLogger(logger),
      abortOnError: false,
      // Fastify's own JSON parser: Nest's replacement reads the body as a Buffer and builds a parser per
      // request, for raw-body support this API does not use. The API reads only JSON, so
      // Nest's url-encoded parser goes too: such a body is a 415.
      bodyParser: false,
    },
  );
  app.useGlobalFilters(problems);
  app.useGlobalPipes(createValidationPipe());

  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(MetricsService);
  const connectionLimit = effectiveConnectionLimit(config.HTTP_MAX_CONNECTIONS);
  if (connectionLimit < config.HTTP_MAX_CONNECTIONS) {
    logger.warn(
      `HTTP_MAX_CONNECTIONS lowered from ${config.HTTP_MAX_CONNECTIONS} to ${connectionLimit} to fit the ` +
        'open-files limit (ulimit -n); raise that limit to accept more connections',
    );
  }
  capConnections(app.getHttpServer(), connectionLimit);
  // Routes are registered at init, after this: a route that declares a larger body (BodyLimit) gets it.
  fastify.addHook('onRoute', (route) => {
    const limit = routeBodyLimit(route.config, config);
    if (limit !== undefined) route.bodyLimit = limit;
  });
  // The API reads JSON only: a text/plain body is a 415 like any other media type.
  fastify.removeContentTypeParser('text/plain');
  // Route schemas (@BodySchema, HeartbeatRoute) compile with the ajv socket payloads use, so both
  // validate with one option set.
  fastify.setValidatorCompiler(({ schema }) => compileSchema(schema as Record<string, unknown>));
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    if (isRefusedConnection(request.raw.socket)) {
      void reply.header('connection', 'close').header('retry-after', '1');
      done(new ConnectionLimitError());
      return;
    }
    done();
  });
  // Before any validator or handler: text the database cannot store, and nesting deep enough to
  // overflow a recursive validator, are field errors, whatever the route.
  fastify.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined && isBodyOptional(request.routeOptions.config)) request.body = {};
    const errors = unstorableInput(request.params);
    errors.push(...unstorableInput(request.query), ...unstorableInput(request.body));
    done(errors.length > 0 ? new ValidationFailedError(errors) : undefined);
  });
  const logRequest = createRequestLogger(logger, (request) => {
    // Set by the guard once the request is admitted; absent on public routes and refusals.
    const principal = (request as FastifyRequest & { user?: Principal }).user;
    return principal && { kind: principal.kind, id: principalIdOf(principal) };
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    // Unmatched paths share one label: raw URLs would let any client grow the metric without bound.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observeHttpRequest(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    logRequest?.(request, reply, route);
    done();
  });

  const sockets = new RealtimeIoAdapter(app, problems);
  await sockets.prepare();
  app.useWebSocketAdapter(sockets);

  await app.init();
  await fastify.ready();
  return app;
}

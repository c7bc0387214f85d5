import { applyDecorators, createParamDecorator, type ExecutionContext, type Type } from '@nestjs/common';
import { RouteConfig, RouteSchema } from '@nestjs/platform-fastify';
import { type FastifyRequest } from 'fastify';
import { type AppConfig } from '../../config/app-config';
import { jsonSchemaOf, type JsonSchema } from '../validation/dto-schema';

/**
 * How every route with a body declares it: Fastify validates the body against the JSON Schema generated
 * from the class-validator DTO, with the app's one ajv (schema-validator.ts, shared with socket
 * payloads), before Nest runs, instead of class-transformer + class-validator on every request (which
 * measured at less than half the throughput). Pair with @SchemaValidatedBody() on the parameter. A
 * response schema, when given, lets Fastify serialize with a compiled serializer; it must list every field.
 */
export const BodySchema = (dto: Type, response?: Record<number, JsonSchema>): MethodDecorator =>
  RouteSchema({ body: jsonSchemaOf(dto), ...(response ? { response } : {}) });

/** The route config flag that lets a request leave its body out (see OptionalBody). */
const BODY_OPTIONAL = 'bodyOptional';

/** Whether a route's Fastify config says OptionalBody. */
export function isBodyOptional(routeConfig: object): boolean {
  return Reflect.get(routeConfig, BODY_OPTIONAL) === true;
}

/**
 * A route whose body may be left out entirely (`POST` with no body and no content type): such a request
 * is validated and handled as if its body were `{}`, by a preValidation hook in app.factory.ts. A body
 * that is sent is validated as any other.
 */
export const OptionalBody = (): MethodDecorator => RouteConfig({ [BODY_OPTIONAL]: true });

/** A route that takes no fields: no body at all, or an empty JSON object; anything in it is refused. */
export const EmptyBody = (): MethodDecorator =>
  applyDecorators(
    RouteSchema({ body: { type: 'object', properties: {}, additionalProperties: false } }),
    OptionalBody(),
  );

/**
 * The body as Fastify validated it against @BodySchema. A custom decorator, so the global
 * ValidationPipe does not validate it a second time.
 */
export const SchemaValidatedBody = createParamDecorator(
  (_: unknown, context: ExecutionContext): unknown =>
    context.switchToHttp().getRequest<FastifyRequest>().body,
);

/** The route config key under which BodyLimit keeps its function. */
const BODY_LIMIT = 'bodyLimitFromConfig';

/**
 * A route whose body may be larger than BODY_LIMIT_BYTES (a command result's output): its limit comes
 * from the configuration, applied when the route is registered (routeBodyLimit, in app.factory.ts).
 * Above it Fastify answers 413, as for any route.
 */
export const BodyLimit = (bytes: (config: AppConfig) => number): MethodDecorator =>
  RouteConfig({ [BODY_LIMIT]: bytes });

/** The body limit a route's config declares through BodyLimit, if any. */
export function routeBodyLimit(routeConfig: unknown, config: AppConfig): number | undefined {
  if (typeof routeConfig !== 'object' || routeConfig === null) return undefined;
  const bytes: unknown = Reflect.get(routeConfig, BODY_LIMIT);
  return typeof bytes === 'function' ? (bytes as (config: AppConfig) => number)(config) : undefined;
}

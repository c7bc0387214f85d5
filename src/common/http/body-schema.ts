import { createParamDecorator, type ExecutionContext, type Type } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { type FastifyRequest } from 'fastify';
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

/**
 * The body as Fastify validated it against @BodySchema. A custom decorator, so the global
 * ValidationPipe does not validate it a second time.
 */
export const SchemaValidatedBody = createParamDecorator(
  (_: unknown, context: ExecutionContext): unknown =>
    context.switchToHttp().getRequest<FastifyRequest>().body,
);

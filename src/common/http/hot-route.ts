import { SetMetadata, type Type } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { type JsonSchema } from './body-schema';

const HOT_ROUTE = 'http:hot-route';

export interface HotRouteSpec {
  method: 'POST' | 'PUT' | 'PATCH';
  /** Below the controller's path, as for @Post(). */
  path: string;
  status: number;
  /** The class-validator DTO of the body; Fastify validates its JSON Schema (see @BodySchema). */
  body: Type;
  /** The response's JSON Schema, for Fastify's compiled serializer; it must list every field. */
  response: JsonSchema;
}

/** What a hot handler is called with: the authenticated principal and the validated body. */
type HotHandler = (principal: never, body: never) => Promise<unknown>;

/**
 * A route Fastify serves directly instead of through Nest's router, for the few calls every device makes
 * all the time (the heartbeat). Nest's router runs a dozen promise-returning steps per request (guards
 * consumer, pipes, interceptors consumer, response controller, exception proxy) whatever the route uses
 * of them; at heartbeat rates that costs as much as the heartbeat's own work (bench/README.md).
 *
 * What stays the same: the route is a method of its controller, declares its principals with the same
 * decorators (@DeviceAuth() ...) and is authenticated by the same global PrincipalGuard; its body is
 * validated against the DTO's JSON Schema; its errors reach the ProblemFilter through Fastify's error
 * handler; request ids and metrics come from the app's Fastify hooks. What it does not run: Nest pipes,
 * interceptors and param decorators. The handler receives `(principal, body)` and returns the response.
 */
export const HotRoute =
  (spec: HotRouteSpec) =>
  <T extends HotHandler>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): void => {
    SetMetadata(HOT_ROUTE, spec)(target, key, descriptor);
  };

export interface HotRouteDeclaration {
  spec: HotRouteSpec;
  /** The full path, controller prefix included, as Fastify registers it. */
  url: string;
  methodName: string;
  handler: (...args: unknown[]) => Promise<unknown>;
}

function joinPath(...parts: string[]): string {
  return `/${parts
    .flatMap((part) => part.split('/'))
    .filter(Boolean)
    .join('/')}`;
}

/** The hot routes a controller declares. */
export function hotRoutesOf(controller: Type): HotRouteDeclaration[] {
  const prototype = controller.prototype as Record<string, unknown>;
  const prefix: unknown = Reflect.getMetadata(PATH_METADATA, controller);
  return Object.getOwnPropertyNames(prototype).flatMap((methodName) => {
    const handler = prototype[methodName];
    if (methodName === 'constructor' || typeof handler !== 'function') return [];
    const spec = Reflect.getMetadata(HOT_ROUTE, handler) as HotRouteSpec | undefined;
    if (!spec) return [];
    if (typeof prefix !== 'string') {
      throw new Error(`${controller.name} needs a single string path for its hot route ${methodName}`);
    }
    return [
      {
        spec,
        url: joinPath(prefix, spec.path),
        methodName,
        handler: handler as HotRouteDeclaration['handler'],
      },
    ];
  });
}

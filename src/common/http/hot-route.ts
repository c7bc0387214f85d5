import { SetMetadata, type Type } from '@nestjs/common';
import {
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PATH_METADATA,
  PIPES_METADATA,
} from '@nestjs/common/constants';
import { type Principal, type PrincipalKind } from '../../auth/principal';
import { type JsonSchema } from './body-schema';

const HOT_ROUTE = 'http:hot-route';

export interface HotRouteSpec<K extends PrincipalKind = PrincipalKind> {
  method: 'POST' | 'PUT' | 'PATCH';
  /** Below the controller's path, as for @Post(). */
  path: string;
  /**
   * The one principal the route serves. The controller or method must declare the same with
   * @DeviceAuth() ...: that declaration is what the guard enforces; the registrar refuses to start when
   * the two differ, so the handler's parameter type is true.
   */
  principal: K;
  status: number;
  /** The class-validator DTO of the body; Fastify validates its JSON Schema (see @BodySchema). */
  body: Type;
  /** The response's JSON Schema, for Fastify's compiled serializer; it must list every field. */
  response: JsonSchema;
}

/** The Nest features a hot route does not run; declaring one on it fails at start-up instead. */
const UNSUPPORTED_METADATA = {
  '@UseGuards()': GUARDS_METADATA,
  '@UseInterceptors()': INTERCEPTORS_METADATA,
  '@UseFilters()': EXCEPTION_FILTERS_METADATA,
  '@UsePipes()': PIPES_METADATA,
};

/**
 * A route Fastify serves directly instead of through Nest's router, for the few calls every device makes
 * all the time (the heartbeat). Nest's router runs a dozen promise-returning steps per request (guards
 * consumer, pipes, interceptors consumer, response controller, exception proxy) whatever the route uses
 * of them; at heartbeat rates that costs more than the rest of the gateway's work (bench/README.md).
 *
 * What stays the same: the route is a method of its controller, declares its principals with the same
 * decorators and is authenticated by the global PrincipalGuard, before its body is read; its body is
 * validated against the DTO's JSON Schema; its errors reach the ProblemFilter through Fastify's error
 * handler; request ids and metrics come from the app's Fastify hooks. What it does not run: other global
 * guards, interceptors and pipes, and param decorators (the handler receives `(principal, body)` and
 * returns the response). Route-level guards, interceptors, filters and pipes are refused at start-up.
 */
export const HotRoute =
  <K extends PrincipalKind, B>(spec: HotRouteSpec<K> & { body: Type<B> }) =>
  // Generic in the method's type: a property descriptor is invariant in it (its setter takes one).
  <T extends (principal: Extract<Principal, { kind: K }>, body: B) => Promise<unknown>>(
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
  handler: (principal: Principal, body: unknown) => Promise<unknown>;
}

/** A route's full path from its controller's and its own, as Nest joins them: `/a/b`, no trailing slash. */
export function joinPath(...parts: string[]): string {
  return `/${parts
    .flatMap((part) => part.split('/'))
    .filter(Boolean)
    .join('/')}`;
}

/** The hot routes a controller declares (its own methods; hot routes are not inherited). */
export function hotRoutesOf(controller: Type): HotRouteDeclaration[] {
  const prototype = controller.prototype as Record<string, unknown>;
  const prefix: unknown = Reflect.getMetadata(PATH_METADATA, controller);
  return Object.getOwnPropertyNames(prototype).flatMap((methodName) => {
    const handler = prototype[methodName];
    if (methodName === 'constructor' || typeof handler !== 'function') return [];
    const spec = Reflect.getMetadata(HOT_ROUTE, handler) as HotRouteSpec | undefined;
    if (!spec) return [];
    const where = `${controller.name}.${methodName}`;
    if (typeof prefix !== 'string') {
      throw new Error(`${controller.name} needs a single string path for its hot route ${where}`);
    }
    for (const [decorator, key] of Object.entries(UNSUPPORTED_METADATA)) {
      if (
        Reflect.getMetadata(key, handler) !== undefined ||
        Reflect.getMetadata(key, controller) !== undefined
      ) {
        throw new Error(`The hot route ${where} cannot use ${decorator}: Nest's router does not serve it`);
      }
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

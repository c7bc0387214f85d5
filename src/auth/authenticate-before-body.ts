import { Injectable, type OnModuleInit, RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, HttpAdapterHost, MetadataScanner } from '@nestjs/core';
import { type FastifyInstance } from 'fastify';
import { joinPath } from '../common/http/join-path';
import { type PrincipalKind } from './principal';
import { PrincipalGuard } from './principal.guard';

/**
 * What a route registered with Fastify directly (outside Nest's router) declares in its `config`, so
 * that this hook authenticates it as it does Nest routes.
 */
export interface PrincipalRouteConfig {
  principals: readonly PrincipalKind[];
}

function declaredPrincipals(config: unknown): readonly PrincipalKind[] | undefined {
  const principals = (config as Partial<PrincipalRouteConfig> | undefined)?.principals;
  return Array.isArray(principals) && principals.length > 0 ? principals : undefined;
}

interface RouteTarget {
  handler: object;
  controller: Type;
}

/**
 * Authenticates every route in Fastify's onRequest phase, before the body is read, with the global
 * guard's checks: a Nest route as its decorators declare (the guard still runs in Nest's pipeline and
 * finds the request admitted), a route registered with Fastify directly as its PrincipalRouteConfig
 * declares. A caller without valid credentials costs no body parsing, cannot hold a connection open by
 * trickling a body, and learns nothing of the route's schema.
 */
@Injectable()
export class AuthenticateBeforeBody implements OnModuleInit {
  private readonly routes = new Map<string, RouteTarget>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly adapterHost: HttpAdapterHost,
    private readonly guard: PrincipalGuard,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as Type | null;
      if (controller) this.addRoutesOf(controller);
    }
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => {
      const url = request.routeOptions.url;
      const route = url === undefined ? undefined : this.routes.get(`${request.method} ${url}`);
      const principals = route ? undefined : declaredPrincipals(request.routeOptions.config);
      const admitted = route
        ? this.guard.admit(route.handler, route.controller, request, reply)
        : principals && this.guard.admitAs(principals, request, reply);
      if (!admitted) {
        done();
        return;
      }
      admitted.then(() => {
        done();
      }, done);
    });
  }

  private addRoutesOf(controller: Type): void {
    const prototype = controller.prototype as Record<string, unknown>;
    const base = [
      (Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined) ?? '/',
    ].flat();
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const handler = prototype[methodName] as object;
      const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      if (paths === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
      for (const prefix of base) {
        for (const path of [paths].flat()) {
          const url = joinPath(prefix, path);
          this.routes.set(`${method} ${url}`, { handler, controller });
          // Fastify answers HEAD for every GET route (exposeHeadRoutes), with the GET route's rules.
          if (method === 'GET') this.routes.set(`HEAD ${url}`, { handler, controller });
        }
      }
    }
  }
}

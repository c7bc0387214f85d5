import { Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { DiscoveryService, HttpAdapterHost, MetadataScanner } from '@nestjs/core';
import { type FastifyInstance } from 'fastify';
import { nestRoutes } from '../common/http/nest-routes';
import { type MaybePromise } from '../common/maybe-promise';
import { type Principal, type PrincipalKind } from './principal';
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
    for (const { method, url, handler, controller } of nestRoutes(this.discovery, this.scanner)) {
      this.routes.set(`${method} ${url}`, { handler, controller });
      // Fastify answers HEAD for every GET route (exposeHeadRoutes), with the GET route's rules.
      if (method === 'GET') this.routes.set(`HEAD ${url}`, { handler, controller });
    }
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => {
      const url = request.routeOptions.url;
      const route = url === undefined ? undefined : this.routes.get(`${request.method} ${url}`);
      const principals = route ? undefined : declaredPrincipals(request.routeOptions.config);
      let admitted: MaybePromise<Principal | undefined>;
      try {
        admitted = route
          ? this.guard.admit(route.handler, route.controller, request, reply)
          : principals && this.guard.admitAs(principals, request, reply);
      } catch (error) {
        done(error as Error);
        return;
      }
      // A known device's credentials are checked synchronously: no promise, no extra microtask.
      if (!(admitted instanceof Promise)) {
        done();
        return;
      }
      admitted.then(() => {
        done();
      }, done);
    });
  }
}

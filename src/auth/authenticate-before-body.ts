import { Injectable, type OnModuleInit, RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, HttpAdapterHost, MetadataScanner } from '@nestjs/core';
import { type FastifyInstance } from 'fastify';
import { joinPath } from '../common/http/hot-route';
import { PrincipalGuard } from './principal.guard';

interface RouteTarget {
  handler: object;
  controller: Type;
}

/**
 * Authenticates every Nest route in Fastify's onRequest phase, before the body is read, with the same
 * global guard and decorators: a caller without valid credentials costs no body parsing, cannot hold a
 * connection open by trickling a body, and learns nothing of the route's schema. The guard still runs in
 * Nest's pipeline and finds the request already admitted.
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
      if (!route) {
        done();
        return;
      }
      this.guard.admit(route.handler, route.controller, request, reply).then(() => {
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

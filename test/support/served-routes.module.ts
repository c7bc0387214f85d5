import { Injectable, Module } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type FastifyInstance, type RouteOptions } from 'fastify';

export interface ServedRoute {
  method: string;
  url: string;
  config: unknown;
  /** The JSON Schema its body is validated against, if it declares one. */
  bodySchema: unknown;
}

/**
 * Every route the app's Fastify instance is given, Nest's and those registered with Fastify directly:
 * built with the app, before any route is registered, it hears each through Fastify's onRoute hook.
 */
@Injectable()
export class ServedRoutes {
  readonly routes: ServedRoute[] = [];

  constructor(adapterHost: HttpAdapterHost) {
    adapterHost.httpAdapter.getInstance<FastifyInstance>().addHook('onRoute', (route: RouteOptions) => {
      for (const method of [route.method].flat()) {
        this.routes.push({ method, url: route.url, config: route.config, bodySchema: route.schema?.body });
      }
    });
  }
}

@Module({ providers: [ServedRoutes], exports: [ServedRoutes] })
export class ServedRoutesModule {}

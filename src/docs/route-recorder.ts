import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type FastifyInstance, type FastifySchema, type RouteOptions } from 'fastify';

/** A route as Fastify was given it. */
export interface RecordedRoute {
  method: string;
  url: string;
  config: unknown;
  schema: FastifySchema | undefined;
}

/**
 * Every route the app's Fastify instance serves, Nest's and those registered with Fastify directly (the
 * heartbeat): built with the app, before any route is registered, it hears each through onRoute.
 */
@Injectable()
export class RouteRecorder {
  readonly routes: RecordedRoute[] = [];

  constructor(adapterHost: HttpAdapterHost) {
    adapterHost.httpAdapter.getInstance<FastifyInstance>().addHook('onRoute', (route: RouteOptions) => {
      for (const method of [route.method].flat()) {
        this.routes.push({ method, url: route.url, config: route.config, schema: route.schema });
      }
    });
  }
}

import { Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { DiscoveryService, HttpAdapterHost } from '@nestjs/core';
import { type FastifyInstance } from 'fastify';
import { PrincipalGuard } from '../../auth/principal.guard';
import { jsonSchemaOf } from './body-schema';
import { hotRoutesOf } from './hot-route';

/**
 * Registers every controller's @HotRoute() methods with Fastify, during app.init() as Nest registers its
 * own routes, so both are in place before the server listens.
 */
@Injectable()
export class HotRouteRegistrar implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly adapterHost: HttpAdapterHost,
    private readonly guard: PrincipalGuard,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as Type | null;
      const instance = wrapper.instance as object | undefined;
      if (!controller || !instance) continue;
      for (const { spec, url, handler } of hotRoutesOf(controller)) {
        fastify.route({
          method: spec.method,
          url,
          schema: { body: jsonSchemaOf(spec.body), response: { [spec.status]: spec.response } },
          // A thrown error goes to Fastify's error handler, which Nest routes to the ProblemFilter.
          handler: async (request, reply) => {
            const principal = await this.guard.admit(handler, controller, request, reply);
            const result = await handler.call(instance, principal, request.body);
            return reply.code(spec.status).send(result);
          },
        });
      }
    }
  }
}

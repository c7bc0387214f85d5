import { Injectable, Logger, type OnModuleInit, type Type } from '@nestjs/common';
import { DiscoveryService, HttpAdapterHost } from '@nestjs/core';
import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type Principal } from '../../auth/principal';
import { jsonSchemaOf } from './body-schema';
import { type HotRouteDeclaration, hotRoutesOf } from './hot-route';
import { RouteAuthenticator } from './route-authenticator';

/**
 * Registers every controller's @HotRoute() methods with Fastify, during app.init() as Nest registers its
 * own routes, so both are in place before the server listens. A hot route that could not be served as
 * declared stops the start-up.
 */
@Injectable()
export class HotRouteRegistrar implements OnModuleInit {
  private readonly logger = new Logger('HotRoutes');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly adapterHost: HttpAdapterHost,
    private readonly authenticator: RouteAuthenticator,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as Type | null;
      if (!controller) continue;
      const routes = hotRoutesOf(controller);
      if (routes.length === 0) continue;
      const instance = wrapper.instance as object | undefined;
      if (!instance || !wrapper.isDependencyTreeStatic()) {
        throw new Error(
          `${controller.name} serves hot routes: it must be a singleton, without request scope`,
        );
      }
      for (const route of routes) this.register(fastify, controller, instance, route);
    }
  }

  private register(
    fastify: FastifyInstance,
    controller: Type,
    instance: object,
    { spec, url, methodName, handler }: HotRouteDeclaration,
  ): void {
    const where = `${controller.name}.${methodName}`;
    const declared = this.authenticator.declarationOf(handler, controller);
    if (declared === 'public' || declared.length !== 1 || declared[0] !== spec.principal) {
      throw new Error(
        `The hot route ${where} serves ${spec.principal} principals but its decorators declare ` +
          (declared === 'public' ? '@Public()' : declared.join(', ')),
      );
    }
    fastify.route({
      method: spec.method,
      url,
      schema: { body: jsonSchemaOf(spec.body), response: { [spec.status]: spec.response } },
      // Before the body is read: a caller without valid credentials costs no parsing and learns nothing
      // of the schema. A thrown error goes to Fastify's error handler, which Nest routes to the
      // ProblemFilter.
      onRequest: async (request, reply) => {
        await this.authenticator.admit(handler, controller, request, reply);
      },
      handler: async (request, reply) => {
        const principal = (request as FastifyRequest & { user?: Principal }).user;
        if (principal?.kind !== spec.principal) throw new Error(`${where} ran without its ${spec.principal}`);
        const result = await handler.call(instance, principal, request.body);
        return reply.code(spec.status).send(result);
      },
    });
    this.logger.log(`Mapped hot route {${url}, ${spec.method}}`);
  }
}

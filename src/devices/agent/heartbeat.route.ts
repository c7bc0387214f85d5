import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type PrincipalRouteConfig } from '../../auth/authenticate-before-body';
import { type Principal } from '../../auth/principal';
import { type DocumentedRouteConfig } from '../../common/docs/route-docs';
import { inlined } from '../../common/docs/typed-schema';
import { jsonSchemaOf } from '../../common/validation/dto-schema';
import { AgentService, HEARTBEAT_RESPONSE_SCHEMA } from './agent.service';
import { HeartbeatDto } from './dto/heartbeat.dto';

const HEARTBEAT_PATH = '/v1/agent/heartbeat';

/** The heartbeat answer, for Fastify's compiled serializer: the documented schema, which lists every field. */
const HEARTBEAT_SERIALIZER_SCHEMA = inlined(HEARTBEAT_RESPONSE_SCHEMA);

const HEARTBEAT_CONFIG: PrincipalRouteConfig & DocumentedRouteConfig = {
  principals: ['device'],
  docs: {
    summary: 'Send a heartbeat',
    description:
      "A sign of life with the device's health; answered with when to send the next one and how many " +
      'commands wait. A live /agent socket counts as a sign too (docs/guide.md#devices-and-presence).',
    responses: { 200: { description: 'Recorded', schema: HEARTBEAT_RESPONSE_SCHEMA } },
  },
};

/**
 * `POST /v1/agent/heartbeat` (docs/guide.md#devices-and-presence), registered with Fastify directly rather than as a Nest
 * route: every device calls it every interval, and Nest's router runs a dozen promise-returning steps
 * per request (guards and interceptors consumers, pipes, response controller, exception proxy) that cost
 * about as much CPU as the heartbeat's own work (bench/README.md). What it shares with Nest routes: the
 * onRequest authentication of AuthenticateBeforeBody (through its `config`, before the body is read), a
 * body validated against the DTO's JSON Schema, errors mapped by the ProblemFilter through Fastify's
 * error handler, and the request-id and metrics hooks.
 */
@Injectable()
export class HeartbeatRoute implements OnModuleInit {
  private readonly logger = new Logger('HeartbeatRoute');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly agent: AgentService,
  ) {}

  /** During app.init(), as Nest registers its own routes, so both are in place before the server listens. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.route({
      method: 'POST',
      url: HEARTBEAT_PATH,
      config: HEARTBEAT_CONFIG,
      schema: { body: jsonSchemaOf(HeartbeatDto), response: { 200: HEARTBEAT_SERIALIZER_SCHEMA } },
      handler: async (request: FastifyRequest & { user?: Principal }, reply) => {
        const principal = request.user;
        if (principal?.kind !== 'device') throw new Error(`${HEARTBEAT_PATH} ran without its device`);
        const response = await this.agent.heartbeat(principal, request.body as HeartbeatDto);
        return reply.code(200).send(response);
      },
    });
    this.logger.log(`Mapped {${HEARTBEAT_PATH}, POST} route`);
  }
}

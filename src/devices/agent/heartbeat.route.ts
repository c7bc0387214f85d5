import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type PrincipalRouteConfig } from '../../auth/authenticate-before-body';
import { type Principal } from '../../auth/principal';
import { jsonSchemaOf, type JsonSchema } from '../../common/validation/dto-schema';
import { AgentService, type HeartbeatResponse } from './agent.service';
import { HeartbeatDto } from './dto/heartbeat.dto';

const HEARTBEAT_PATH = '/v1/agent/heartbeat';

/** The heartbeat answer, for Fastify's compiled serializer; it must list every field. */
const HEARTBEAT_RESPONSE_SCHEMA = {
  type: 'object',
  properties: {
    serverTime: { type: 'string' },
    nextHeartbeatSec: { type: 'integer' },
    pendingCommands: { type: 'integer' },
  },
  required: ['serverTime', 'nextHeartbeatSec', 'pendingCommands'],
  additionalProperties: false,
} satisfies JsonSchema & { properties: Record<keyof HeartbeatResponse, unknown> };

const HEARTBEAT_CONFIG: PrincipalRouteConfig = { principals: ['device'] };

/**
 * `POST /v1/agent/heartbeat` (PRODUCT §3.1), registered with Fastify directly rather than as a Nest
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
      schema: { body: jsonSchemaOf(HeartbeatDto), response: { 200: HEARTBEAT_RESPONSE_SCHEMA } },
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

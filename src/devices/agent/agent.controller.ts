import { Controller, HttpCode, Post } from '@nestjs/common';
import { CurrentDevice, DeviceAuth } from '../../auth/auth.decorators';
import { type DevicePrincipal } from '../../auth/principal';
import { BodySchema, type JsonSchema, SchemaValidatedBody } from '../../common/http/body-schema';
import { HotRoute } from '../../common/http/hot-route';
import { AgentService, type HeartbeatResponse, type RegisterResponse } from './agent.service';
import { HeartbeatDto } from './dto/heartbeat.dto';
import { RegisterAgentDto } from './dto/register-agent.dto';

/** The heartbeat answer, for Fastify's compiled serializer: the hot route's JSON.stringify, precompiled. */
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

@DeviceAuth()
@Controller('v1/agent')
export class AgentController {
  constructor(private readonly agent: AgentService) {}

  @Post('register')
  @HttpCode(200)
  @BodySchema(RegisterAgentDto)
  register(
    @CurrentDevice() device: DevicePrincipal,
    @SchemaValidatedBody() body: RegisterAgentDto,
  ): Promise<RegisterResponse> {
    return this.agent.register(device, body);
  }

  /** Served by Fastify directly (see HotRoute): every device calls it every interval. */
  @HotRoute({
    method: 'POST',
    path: 'heartbeat',
    principal: 'device',
    status: 200,
    body: HeartbeatDto,
    response: HEARTBEAT_RESPONSE_SCHEMA,
  })
  heartbeat(device: DevicePrincipal, body: HeartbeatDto): Promise<HeartbeatResponse> {
    return this.agent.heartbeat(device, body);
  }
}

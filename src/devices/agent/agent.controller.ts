import { Controller, HttpCode, Post } from '@nestjs/common';
import { CurrentDevice, DeviceAuth } from '../../auth/auth.decorators';
import { type DevicePrincipal } from '../../auth/principal';
import { Documented } from '../../common/docs/route-docs';
import { BodySchema, SchemaValidatedBody } from '../../common/http/body-schema';
import { AgentService, REGISTER_RESPONSE_SCHEMA, type RegisterResponse } from './agent.service';
import { RegisterAgentDto } from './dto/register-agent.dto';

/** What device agents call over HTTP; the heartbeat is registered with Fastify directly (HeartbeatRoute). */
@DeviceAuth()
@Controller('v1/agent')
export class AgentController {
  constructor(private readonly agent: AgentService) {}

  @Post('register')
  @HttpCode(200)
  @BodySchema(RegisterAgentDto)
  @Documented({
    summary: 'Register the agent',
    description: 'Idempotent; the first call moves the device from `provisioned` to `active`.',
    responses: { 200: { description: 'Registered', schema: REGISTER_RESPONSE_SCHEMA } },
  })
  register(
    @CurrentDevice() device: DevicePrincipal,
    @SchemaValidatedBody() body: RegisterAgentDto,
  ): Promise<RegisterResponse> {
    return this.agent.register(device, body);
  }
}

import { Controller, HttpCode, Post } from '@nestjs/common';
import { CurrentDevice, DeviceAuth } from '../auth/auth.decorators';
import { type DevicePrincipal } from '../auth/principal';
import { BodySchema, SchemaValidatedBody } from '../common/http/body-schema';
import { AgentService, type HeartbeatResponse, type RegisterResponse } from './agent.service';
import { HeartbeatDto } from './dto/heartbeat.dto';
import { RegisterAgentDto } from './dto/register-agent.dto';

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

  @Post('heartbeat')
  @HttpCode(200)
  @BodySchema(HeartbeatDto)
  heartbeat(
    @CurrentDevice() device: DevicePrincipal,
    @SchemaValidatedBody() body: HeartbeatDto,
  ): Promise<HeartbeatResponse> {
    return this.agent.heartbeat(device, body);
  }
}

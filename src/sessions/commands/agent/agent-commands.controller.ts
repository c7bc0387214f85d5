import { Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { type FastifyReply } from 'fastify';
import { CurrentDevice, DeviceAuth } from '../../../auth/auth.decorators';
import { type DevicePrincipal } from '../../../auth/principal';
import {
  BodyLimit,
  BodySchema,
  EmptyBody,
  OptionalBody,
  SchemaValidatedBody,
} from '../../../common/http/body-schema';
import { COMMAND_RESULT_ENVELOPE_BYTES } from '../../../config/app-config';
import { type CommandResponse } from '../dto/command.response';
import { AgentCommandsService } from './agent-commands.service';
import {
  AgentCommandsQueryDto,
  CommandProgressBodyDto,
  CommandResultBodyDto,
} from './dto/command-report.dto';

/** The agent's command routes over HTTP (PRODUCT §3.1), for agents without a socket. */
@DeviceAuth()
@Controller('v1/agent/commands')
export class AgentCommandsController {
  constructor(private readonly agentCommands: AgentCommandsService) {}

  /** Long poll: ends early when the client goes away, and with no commands when the app stops. */
  @Get()
  async next(
    @CurrentDevice() device: DevicePrincipal,
    @Query() query: AgentCommandsQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ items: CommandResponse[] }> {
    const gone = new AbortController();
    reply.raw.once('close', () => {
      gone.abort();
    });
    return { items: await this.agentCommands.next(device, query.waitSec ?? 0, gone.signal) };
  }

  @Post(':commandId/ack')
  @HttpCode(204)
  @EmptyBody()
  ack(@CurrentDevice() device: DevicePrincipal, @Param('commandId') commandId: string): Promise<void> {
    return this.agentCommands.ack(device, commandId);
  }

  @Post(':commandId/progress')
  @HttpCode(204)
  @BodySchema(CommandProgressBodyDto)
  @OptionalBody()
  progress(
    @CurrentDevice() device: DevicePrincipal,
    @Param('commandId') commandId: string,
    @SchemaValidatedBody() body: CommandProgressBodyDto,
  ): Promise<void> {
    return this.agentCommands.progress(device, commandId, body);
  }

  @Post(':commandId/result')
  @HttpCode(200)
  @BodySchema(CommandResultBodyDto)
  @BodyLimit((config) =>
    Math.max(config.BODY_LIMIT_BYTES, config.COMMAND_OUTPUT_MAX_BYTES + COMMAND_RESULT_ENVELOPE_BYTES),
  )
  result(
    @CurrentDevice() device: DevicePrincipal,
    @Param('commandId') commandId: string,
    @SchemaValidatedBody() body: CommandResultBodyDto,
  ): Promise<CommandResponse> {
    return this.agentCommands.result(device, commandId, body);
  }
}

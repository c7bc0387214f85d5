import { Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { type FastifyReply } from 'fastify';
import { CurrentDevice, DeviceAuth } from '../../../auth/auth.decorators';
import { type DevicePrincipal } from '../../../auth/principal';
import { Documented } from '../../../common/docs/route-docs';
import { array, object } from '../../../common/docs/typed-schema';
import {
  BodyLimit,
  BodySchema,
  EmptyBody,
  OptionalBody,
  SchemaValidatedBody,
} from '../../../common/http/body-schema';
import { COMMAND_RESULT_ENVELOPE_BYTES } from '../../../config/app-config';
import { COMMAND_SCHEMA, type CommandResponse } from '../dto/command.response';
import { AgentCommandsService } from './agent-commands.service';
import {
  AgentCommandsQueryDto,
  CommandProgressBodyDto,
  CommandResultBodyDto,
} from './dto/command-report.dto';

/** The agent's command routes over HTTP (docs/guide.md#command-delivery), for agents without a socket. */
@DeviceAuth()
@Controller('v1/agent/commands')
export class AgentCommandsController {
  constructor(private readonly agentCommands: AgentCommandsService) {}

  /** Long poll: ends early when the client goes away, and with no commands when the app stops. */
  @Get()
  @Documented({
    summary: 'Wait for commands (long poll)',
    tag: 'agent',
    description:
      'For agents without a socket: answers at once when commands wait (oldest first, at most ' +
      'COMMAND_MAX_IN_FLIGHT_PER_DEVICE on the device), else the first that arrive within `waitSec` (0–30), ' +
      'on any instance, else none. Returned commands are `sent`: ack them within COMMAND_ACK_TIMEOUT_SEC.',
    responses: {
      200: {
        description: 'The commands handed over',
        schema: object<{ items: CommandResponse[] }>({ items: array(COMMAND_SCHEMA) }),
      },
    },
  })
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
  @Documented({
    summary: 'Acknowledge a command',
    tag: 'agent',
    description: '`sent → delivered`; a repeated ack changes nothing.',
    responses: { 204: { description: 'Acknowledged' } },
  })
  ack(@CurrentDevice() device: DevicePrincipal, @Param('commandId') commandId: string): Promise<void> {
    return this.agentCommands.ack(device, commandId);
  }

  @Post(':commandId/progress')
  @HttpCode(204)
  @BodySchema(CommandProgressBodyDto)
  @OptionalBody()
  @Documented({
    summary: "Report a command's progress",
    tag: 'agent',
    description:
      '`delivered → running` (before the ack it counts as the ack); after a final state it changes nothing.',
    responses: { 204: { description: 'Recorded' } },
  })
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
  @Documented({
    summary: "Report a command's result",
    tag: 'agent',
    description:
      'Ends the command `succeeded` or `failed` (before the ack it counts as the ack). The same result again ' +
      'answers the command as it is.',
    responses: { 200: { description: 'The command, final', schema: COMMAND_SCHEMA } },
    problems: {
      409: 'The command already ended with another result (`command_result_conflict`)',
      413: '`output` is over COMMAND_OUTPUT_MAX_BYTES (`command_output_too_large`), or the body over the route limit',
    },
  })
  result(
    @CurrentDevice() device: DevicePrincipal,
    @Param('commandId') commandId: string,
    @SchemaValidatedBody() body: CommandResultBodyDto,
  ): Promise<CommandResponse> {
    return this.agentCommands.result(device, commandId, body);
  }
}

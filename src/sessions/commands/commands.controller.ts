import { Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { type FastifyReply } from 'fastify';
import { Auth, CurrentCustomer, CurrentCustomerOrService, CustomerAuth } from '../../auth/auth.decorators';
import { type CustomerPrincipal, type ServicePrincipal } from '../../auth/principal';
import { Documented } from '../../common/docs/route-docs';
import { BodySchema, EmptyBody, SchemaValidatedBody } from '../../common/http/body-schema';
import { CommandsService } from './commands.service';
import { COMMAND_SCHEMA, type CommandResponse } from './dto/command.response';
import { IssueCommandDto } from './dto/issue-command.dto';
import { IssueCommandQuery } from './dto/issue-command.query';

/** Commands of diagnostic sessions (docs/guide.md#commands); backend services may read a command by id (docs/guide.md#principals-and-authentication). */
@Controller('v1')
export class CommandsController {
  constructor(private readonly commands: CommandsService) {}

  /** 202 with the command as it is, or 200 once it is final (within `waitSec`, or already on a replay). */
  @Post('sessions/:sessionId/commands')
  @CustomerAuth()
  @BodySchema(IssueCommandDto)
  @Documented({
    summary: 'Issue a command',
    tag: 'commands',
    description:
      '`params` must match the type (the schemas `CommandParams.<type>`); a remediation type runs only as a ' +
      'step of an approved plan, and a type the device did not list in its capabilities is refused.',
    headers: {
      'idempotency-key':
        'The same key with the same body within 24 h answers the same command (header ' +
        '`Idempotent-Replayed: true`); with a different body, 409.',
    },
    responses: {
      202: { description: 'Accepted: the command as it is', schema: COMMAND_SCHEMA },
      200: {
        description: 'The command, final within `waitSec` (or already, on a replay)',
        schema: COMMAND_SCHEMA,
        headers: { 'Idempotent-Replayed': '`true` when the Idempotency-Key was seen before' },
      },
    },
    problems: {
      403: 'A remediation type outside a plan, or a type the device cannot run',
      409: 'The session is closed, or the Idempotency-Key was used with another body',
    },
  })
  async issue(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('sessionId') sessionId: string,
    @SchemaValidatedBody() body: IssueCommandDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Query() query: IssueCommandQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CommandResponse> {
    const issued = await this.commands.issue(customer, sessionId, body, idempotencyKey, query.waitSec);
    void reply.status(issued.final ? 200 : 202);
    if (issued.replayed) void reply.header('idempotent-replayed', 'true');
    return issued.command;
  }

  @Get('commands/:commandId')
  @Auth('customer', 'service')
  @Documented({
    summary: 'Read a command',
    responses: { 200: { description: 'The command', schema: COMMAND_SCHEMA } },
  })
  get(
    @CurrentCustomerOrService() reader: CustomerPrincipal | ServicePrincipal,
    @Param('commandId') commandId: string,
  ): Promise<CommandResponse> {
    return this.commands.get(reader, commandId);
  }

  @Post('commands/:commandId/cancel')
  @HttpCode(200)
  @CustomerAuth()
  @Documented({
    summary: 'Cancel a command',
    responses: { 200: { description: 'The command, cancelled (or already final)', schema: COMMAND_SCHEMA } },
  })
  @EmptyBody()
  cancel(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('commandId') commandId: string,
  ): Promise<CommandResponse> {
    return this.commands.cancel(customer, commandId);
  }
}

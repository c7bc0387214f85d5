import { Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { type FastifyReply } from 'fastify';
import { Auth, CurrentCustomer, CurrentCustomerOrService, CustomerAuth } from '../../auth/auth.decorators';
import { type CustomerPrincipal, type ServicePrincipal } from '../../auth/principal';
import { BodySchema, EmptyBody, SchemaValidatedBody } from '../../common/http/body-schema';
import { CommandsService } from './commands.service';
import { type CommandResponse } from './dto/command.response';
import { IssueCommandDto } from './dto/issue-command.dto';
import { IssueCommandQuery } from './dto/issue-command.query';

/** Commands of diagnostic sessions (PRODUCT §3.2); backend services may read a command by id (§3.3). */
@Controller('v1')
export class CommandsController {
  constructor(private readonly commands: CommandsService) {}

  /** 202 with the command as it is, or 200 once it is final (within `waitSec`, or already on a replay). */
  @Post('sessions/:sessionId/commands')
  @CustomerAuth()
  @BodySchema(IssueCommandDto)
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
  get(
    @CurrentCustomerOrService() reader: CustomerPrincipal | ServicePrincipal,
    @Param('commandId') commandId: string,
  ): Promise<CommandResponse> {
    return this.commands.get(reader, commandId);
  }

  @Post('commands/:commandId/cancel')
  @HttpCode(200)
  @CustomerAuth()
  @EmptyBody()
  cancel(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('commandId') commandId: string,
  ): Promise<CommandResponse> {
    return this.commands.cancel(customer, commandId);
  }
}

import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { Auth, CurrentCustomer, CurrentCustomerOrService, CustomerAuth } from '../auth/auth.decorators';
import { type CustomerPrincipal, type ServicePrincipal } from '../auth/principal';
import { Documented } from '../common/docs/route-docs';
import { page } from '../common/docs/typed-schema';
import { BodySchema, EmptyBody, OptionalBody, SchemaValidatedBody } from '../common/http/body-schema';
import { ListSessionsQuery } from './dto/list-sessions.query';
import { OpenSessionDto } from './dto/open-session.dto';
import {
  SESSION_SCHEMA,
  SESSION_WITH_COMMANDS_SCHEMA,
  type SessionResponse,
  type SessionWithCommandsResponse,
} from './dto/session.response';
import { SessionsService } from './sessions.service';

/** Diagnostic sessions (docs/guide.md#diagnostic-sessions); backend services may read a session by id (docs/guide.md#principals-and-authentication), nothing else. */
@Controller('v1')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post('devices/:deviceId/sessions')
  @CustomerAuth()
  @BodySchema(OpenSessionDto)
  @OptionalBody()
  @Documented({
    summary: 'Open a diagnostic session',
    tag: 'sessions',
    responses: { 201: { description: 'The session', schema: SESSION_SCHEMA } },
    problems: { 409: 'The device has an open session (the problem names it)' },
  })
  open(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('deviceId') deviceId: string,
    @SchemaValidatedBody() body: OpenSessionDto,
  ): Promise<SessionResponse> {
    return this.sessions.open(customer, deviceId, body);
  }

  @Get('sessions')
  @CustomerAuth()
  @Documented({
    summary: 'List sessions',
    responses: { 200: { description: 'A page of sessions', schema: page(SESSION_SCHEMA) } },
  })
  list(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Query() query: ListSessionsQuery,
  ): Promise<{ items: SessionResponse[]; nextCursor: string | null }> {
    return this.sessions.list(customer, query);
  }

  @Get('sessions/:sessionId')
  @Auth('customer', 'service')
  @Documented({
    summary: 'Read a session with its commands and plans',
    responses: { 200: { description: 'The session', schema: SESSION_WITH_COMMANDS_SCHEMA } },
  })
  get(
    @CurrentCustomerOrService() reader: CustomerPrincipal | ServicePrincipal,
    @Param('sessionId') sessionId: string,
  ): Promise<SessionWithCommandsResponse> {
    return this.sessions.get(reader, sessionId);
  }

  @Post('sessions/:sessionId/close')
  @HttpCode(200)
  @CustomerAuth()
  @Documented({
    summary: 'Close a session',
    description: 'Its open commands are cancelled, its proposed plans expire.',
    responses: { 200: { description: 'The closed session', schema: SESSION_SCHEMA } },
  })
  @EmptyBody()
  close(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('sessionId') sessionId: string,
  ): Promise<SessionResponse> {
    return this.sessions.close(customer, sessionId);
  }
}

import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { Auth, CurrentCustomer, CurrentCustomerOrService, CustomerAuth } from '../auth/auth.decorators';
import { type CustomerPrincipal, type ServicePrincipal } from '../auth/principal';
import { BodySchema, EmptyBody, OptionalBody, SchemaValidatedBody } from '../common/http/body-schema';
import { ListSessionsQuery } from './dto/list-sessions.query';
import { OpenSessionDto } from './dto/open-session.dto';
import { type SessionResponse, type SessionWithCommandsResponse } from './dto/session.response';
import { SessionsService } from './sessions.service';

/** Diagnostic sessions (PRODUCT §3.2); backend services may read a session by id (§3.3), nothing else. */
@Controller('v1')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post('devices/:deviceId/sessions')
  @CustomerAuth()
  @BodySchema(OpenSessionDto)
  @OptionalBody()
  open(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('deviceId') deviceId: string,
    @SchemaValidatedBody() body: OpenSessionDto,
  ): Promise<SessionResponse> {
    return this.sessions.open(customer, deviceId, body);
  }

  @Get('sessions')
  @CustomerAuth()
  list(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Query() query: ListSessionsQuery,
  ): Promise<{ items: SessionResponse[]; nextCursor: string | null }> {
    return this.sessions.list(customer, query);
  }

  @Get('sessions/:sessionId')
  @Auth('customer', 'service')
  get(
    @CurrentCustomerOrService() reader: CustomerPrincipal | ServicePrincipal,
    @Param('sessionId') sessionId: string,
  ): Promise<SessionWithCommandsResponse> {
    return this.sessions.get(reader, sessionId);
  }

  @Post('sessions/:sessionId/close')
  @HttpCode(200)
  @CustomerAuth()
  @EmptyBody()
  close(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('sessionId') sessionId: string,
  ): Promise<SessionResponse> {
    return this.sessions.close(customer, sessionId);
  }
}

import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  Auth,
  CurrentCustomer,
  CurrentCustomerOrService,
  CurrentService,
  CustomerAuth,
  ServiceAuth,
} from '../auth/auth.decorators';
import { type CustomerPrincipal, type ServicePrincipal } from '../auth/principal';
import { BodySchema, EmptyBody, OptionalBody, SchemaValidatedBody } from '../common/http/body-schema';
import { ApprovePlanDto, RejectPlanDto } from './dto/decide-plan.dto';
import { type PlanResponse } from './dto/plan.response';
import { ProposePlanDto } from './dto/propose-plan.dto';
import { RemediationService } from './remediation.service';

/** Remediation plans: proposed by backend services (PRODUCT §3.3), decided by customers (§3.2). */
@Controller('v1')
export class RemediationController {
  constructor(private readonly remediation: RemediationService) {}

  @Post('sessions/:sessionId/remediation-plans')
  @ServiceAuth()
  @BodySchema(ProposePlanDto)
  propose(
    @CurrentService() service: ServicePrincipal,
    @Param('sessionId') sessionId: string,
    @SchemaValidatedBody() body: ProposePlanDto,
  ): Promise<PlanResponse> {
    return this.remediation.propose(service, sessionId, body);
  }

  @Get('sessions/:sessionId/remediation-plans')
  @Auth('customer', 'service')
  list(
    @CurrentCustomerOrService() reader: CustomerPrincipal | ServicePrincipal,
    @Param('sessionId') sessionId: string,
  ): Promise<{ items: PlanResponse[] }> {
    return this.remediation.listBySession(reader, sessionId);
  }

  @Get('remediation-plans/:planId')
  @Auth('customer', 'service')
  get(
    @CurrentCustomerOrService() reader: CustomerPrincipal | ServicePrincipal,
    @Param('planId') planId: string,
  ): Promise<PlanResponse> {
    return this.remediation.get(reader, planId);
  }

  @Post('remediation-plans/:planId/approve')
  @HttpCode(200)
  @CustomerAuth()
  @BodySchema(ApprovePlanDto)
  approve(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('planId') planId: string,
    @SchemaValidatedBody() body: ApprovePlanDto,
  ): Promise<PlanResponse> {
    return this.remediation.approve(customer, planId, body);
  }

  @Post('remediation-plans/:planId/reject')
  @HttpCode(200)
  @CustomerAuth()
  @BodySchema(RejectPlanDto)
  @OptionalBody()
  reject(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('planId') planId: string,
    @SchemaValidatedBody() body: RejectPlanDto,
  ): Promise<PlanResponse> {
    return this.remediation.reject(customer, planId, body);
  }

  @Post('remediation-plans/:planId/cancel')
  @HttpCode(200)
  @CustomerAuth()
  @EmptyBody()
  cancel(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('planId') planId: string,
  ): Promise<PlanResponse> {
    return this.remediation.cancel(customer, planId);
  }
}

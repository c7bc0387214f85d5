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
import { Documented } from '../common/docs/route-docs';
import { array, object } from '../common/docs/typed-schema';
import { BodySchema, EmptyBody, OptionalBody, SchemaValidatedBody } from '../common/http/body-schema';
import { ApprovePlanDto, RejectPlanDto } from './dto/decide-plan.dto';
import { PLAN_SCHEMA, type PlanResponse } from './dto/plan.response';
import { ProposePlanDto } from './dto/propose-plan.dto';
import { RemediationService } from './remediation.service';

/** Remediation plans (docs/guide.md#remediation-plans): proposed by backend services, decided by customers. */
@Controller('v1')
export class RemediationController {
  constructor(private readonly remediation: RemediationService) {}

  @Post('sessions/:sessionId/remediation-plans')
  @ServiceAuth()
  @BodySchema(ProposePlanDto)
  @Documented({
    summary: 'Propose a remediation plan',
    tag: 'remediation-plans',
    description: 'The customer is told live (`remediation:updated`) and decides.',
    responses: { 201: { description: 'The plan, `proposed`', schema: PLAN_SCHEMA } },
    problems: { 409: 'The session is closed' },
  })
  propose(
    @CurrentService() service: ServicePrincipal,
    @Param('sessionId') sessionId: string,
    @SchemaValidatedBody() body: ProposePlanDto,
  ): Promise<PlanResponse> {
    return this.remediation.propose(service, sessionId, body);
  }

  @Get('sessions/:sessionId/remediation-plans')
  @Auth('customer', 'service')
  @Documented({
    summary: "List a session's plans",
    tag: 'remediation-plans',
    responses: {
      200: {
        description: 'Its plans, oldest first',
        schema: object<{ items: PlanResponse[] }>({ items: array(PLAN_SCHEMA) }),
      },
    },
  })
  list(
    @CurrentCustomerOrService() reader: CustomerPrincipal | ServicePrincipal,
    @Param('sessionId') sessionId: string,
  ): Promise<{ items: PlanResponse[] }> {
    return this.remediation.listBySession(reader, sessionId);
  }

  @Get('remediation-plans/:planId')
  @Auth('customer', 'service')
  @Documented({
    summary: 'Read a plan',
    responses: { 200: { description: 'The plan', schema: PLAN_SCHEMA } },
  })
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
  @Documented({
    summary: 'Approve a plan',
    description: "`planHash` must be the plan's, so the customer approves exactly what it saw.",
    responses: { 200: { description: 'The plan, `approved` then `executing`', schema: PLAN_SCHEMA } },
    problems: { 409: 'The hash differs, or the plan is no longer proposed' },
  })
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
  @Documented({
    summary: 'Reject a plan',
    responses: { 200: { description: 'The plan, `rejected`', schema: PLAN_SCHEMA } },
    problems: { 409: 'The plan is no longer proposed' },
  })
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
  @Documented({
    summary: 'Cancel a plan',
    description: 'An approved or executing plan stops before its next step.',
    responses: { 200: { description: 'The plan, `cancelled`', schema: PLAN_SCHEMA } },
    problems: { 409: 'The plan has ended' },
  })
  cancel(
    @CurrentCustomer() customer: CustomerPrincipal,
    @Param('planId') planId: string,
  ): Promise<PlanResponse> {
    return this.remediation.cancel(customer, planId);
  }
}

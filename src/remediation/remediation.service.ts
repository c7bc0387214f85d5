import { Injectable } from '@nestjs/common';
import { actorOf, type CustomerPrincipal, type ServicePrincipal } from '../auth/principal';
import { ForbiddenError, ValidationFailedError } from '../common/errors/common.errors';
import { type SessionRecord } from '../sessions/session';
import { SessionRepository } from '../sessions/session.repository';
import { SessionClosedError, SessionNotFoundError } from '../sessions/sessions.errors';
import { type ApprovePlanDto, type RejectPlanDto } from './dto/decide-plan.dto';
import { type PlanResponse, toPlanResponse } from './dto/plan.response';
import { PLAN_EXPIRY_SEC, type ProposePlanDto } from './dto/propose-plan.dto';
import { type PlanDecision, type PlanDecisionOutcome, type PlanRecord } from './plan';
import { PlanAnnouncer } from './plan-announcer';
import { DevicesService } from '../devices/devices.service';
import { CapabilityMissingError } from '../sessions/commands/commands.errors';
import { PlanExecutionService } from './plan-execution.service';
import { planHash } from './plan-hash';
import { PlanRepository } from './plan.repository';
import { checkPlanSteps } from './plan-steps';
import {
  PlanDeviceUnavailableError,
  PlanExpiredError,
  PlanHashMismatchError,
  PlanNotCancellableError,
  PlanNotFoundError,
  PlanNotProposedError,
} from './remediation.errors';

type Reader = CustomerPrincipal | ServicePrincipal;

/**
 * Remediation plans (docs/guide.md#remediation-plans, issue 12): a backend service proposes one in an open session;
 * the session's customer approves exactly what it saw (by its hash), rejects it, or cancels it once
 * approved; PlanExecutionService carries it out. Customers see only their own plans ("not found"
 * otherwise); admins and services read every plan; an admin decides only its own.
 */
@Injectable()
export class RemediationService {
  constructor(
    private readonly plans: PlanRepository,
    private readonly sessions: SessionRepository,
    private readonly devices: DevicesService,
    private readonly execution: PlanExecutionService,
    private readonly announcer: PlanAnnouncer,
  ) {}

  async propose(service: ServicePrincipal, sessionId: string, input: ProposePlanDto): Promise<PlanResponse> {
    const session = await this.sessions.findById(sessionId);
    if (!session) throw new SessionNotFoundError(sessionId);
    const steps = checkPlanSteps(input.steps);
    if ('errors' in steps) throw new ValidationFailedError(steps.errors);
    if (session.state !== 'open') throw new SessionClosedError(session.id);
    // Refused up front, as a command would be: a plan must not stop half-way at a step the device lacks.
    const device = await this.devices.snapshot(session.deviceId);
    const lacking = steps.value.findIndex((step) => !device?.capabilities.includes(step.type));
    const missing = steps.value[lacking];
    if (device && missing) {
      throw new CapabilityMissingError(
        device.id,
        missing.type,
        device.capabilities,
        `steps[${lacking}].type`,
      );
    }
    const plan = await this.plans.propose({
      sessionId: session.id,
      summary: input.summary,
      rationale: input.rationale ?? null,
      risk: input.risk,
      steps: steps.value,
      planHash: planHash(steps.value),
      proposedBy: actorOf(service),
      expiresInSec: input.expiresInSec ?? PLAN_EXPIRY_SEC.default,
    });
    await this.announcer.record(plan, plan.proposedBy, 'proposed', {
      planHash: plan.planHash,
      risk: plan.risk,
      steps: plan.steps.map((step) => step.type),
      expiresAt: plan.expiresAt.toISOString(),
    });
    return this.announcer.announce(plan);
  }

  async listBySession(reader: Reader, sessionId: string): Promise<{ items: PlanResponse[] }> {
    await this.readableSession(reader, sessionId);
    return { items: (await this.plans.listBySession(sessionId)).map(toPlanResponse) };
  }

  async get(reader: Reader, planId: string): Promise<PlanResponse> {
    return toPlanResponse(await this.readable(reader, planId));
  }

  /** Approves the plan if `planHash` is its own, then issues its first step (docs/guide.md#remediation-plans). */
  async approve(customer: CustomerPrincipal, planId: string, input: ApprovePlanDto): Promise<PlanResponse> {
    const plan = await this.decidable(customer, planId);
    const approved = await this.decide(plan, {
      decision: 'approve',
      planHash: input.planHash,
      decidedBy: actorOf(customer),
    });
    this.announcer.announce(approved);
    const executing = await this.execution.advance(approved.id);
    return toPlanResponse(executing ?? approved);
  }

  async reject(customer: CustomerPrincipal, planId: string, input: RejectPlanDto): Promise<PlanResponse> {
    const plan = await this.decidable(customer, planId);
    const rejected = await this.decide(plan, {
      decision: 'reject',
      reason: input.reason ?? null,
      decidedBy: actorOf(customer),
    });
    return this.announcer.announce(rejected);
  }

  /** Stops an approved or executing plan before its next step, cancelling the step that runs. */
  async cancel(customer: CustomerPrincipal, planId: string): Promise<PlanResponse> {
    const plan = await this.decidable(customer, planId);
    const cancellation = await this.execution.cancel(plan.id, actorOf(customer));
    switch (cancellation.outcome) {
      case 'cancelled':
        return toPlanResponse(cancellation.plan);
      case 'not_cancellable':
        throw new PlanNotCancellableError(plan.id, cancellation.plan.status);
      case 'not_found':
        throw new PlanNotFoundError(plan.id);
    }
  }

  /** One decision as one conditional update; audited with who, when and which hash. */
  private async decide(plan: PlanRecord, decision: PlanDecision): Promise<PlanRecord> {
    const outcome: PlanDecisionOutcome = await this.plans.decide(plan.id, decision);
    switch (outcome.outcome) {
      case 'approved':
      case 'rejected':
        await this.announcer.record(outcome.plan, decision.decidedBy, outcome.outcome, {
          planHash: outcome.plan.planHash,
          decidedAt: outcome.plan.decidedAt?.toISOString(),
          reason: outcome.plan.decisionReason,
        });
        return outcome.plan;
      case 'expired':
        await this.announcer.record(outcome.plan, 'system', 'expired', { reason: 'expiresAt passed' });
        this.announcer.announce(outcome.plan);
        throw new PlanExpiredError(plan.id);
      case 'not_proposed':
        throw outcome.plan.status === 'expired'
          ? new PlanExpiredError(plan.id)
          : new PlanNotProposedError(plan.id, outcome.plan.status);
      case 'hash_mismatch':
        throw new PlanHashMismatchError(plan.id);
      case 'session_not_open':
        throw new SessionClosedError(plan.sessionId);
      case 'device_unavailable':
        throw new PlanDeviceUnavailableError(plan.id, plan.deviceId);
      case 'not_found':
        throw new PlanNotFoundError(plan.id);
    }
  }

  /** Customers read their own plans, admins and backend services every one. */
  private async readable(reader: Reader, planId: string): Promise<PlanRecord> {
    const plan = await this.plans.findById(planId);
    if (!plan) throw new PlanNotFoundError(planId);
    const readsAll = reader.kind === 'service' || reader.isAdmin;
    if (!readsAll && plan.customerId !== reader.userId) throw new PlanNotFoundError(planId);
    return plan;
  }

  /** Only the plan's customer decides it; an admin reads every plan but decides only its own. */
  private async decidable(customer: CustomerPrincipal, planId: string): Promise<PlanRecord> {
    const plan = await this.readable(customer, planId);
    if (plan.customerId !== customer.userId) {
      throw new ForbiddenError('Admins may read every plan but decide only their own.');
    }
    return plan;
  }

  private async readableSession(reader: Reader, sessionId: string): Promise<SessionRecord> {
    const session = await this.sessions.findById(sessionId);
    if (!session) throw new SessionNotFoundError(sessionId);
    const readsAll = reader.kind === 'service' || reader.isAdmin;
    if (!readsAll && session.customerId !== reader.userId) throw new SessionNotFoundError(sessionId);
    return session;
  }
}

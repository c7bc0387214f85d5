import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { type Actor } from '../audit/audit-event';
import { AppConfig } from '../config/app-config';
import { type CommandRecord } from '../sessions/commands/command';
import { CommandRepository } from '../sessions/commands/command.repository';
import { CommandDelivery } from '../sessions/commands/delivery/command-delivery';
import { type SessionRecord } from '../sessions/session';
import { SessionClosings } from '../sessions/session-closings';
import { SessionPlans } from '../sessions/session-plans';
import { toPlanResponse } from './dto/plan.response';
import { type PlanCancellation, type PlanRecord } from './plan';
import { PlanAnnouncer } from './plan-announcer';
import { PlanRepository } from './plan.repository';

/** Plans one sweep expires or advances; a backlog is worked off over the next sweeps. */
const SWEEP_BATCH = 100;
/**
 * A step's command still queued this long after its issue may never have been handed to the delivery
 * engine: the move that created it committed, but its instance stopped before submit (through PostgREST
 * a dead instance's statement even runs on and commits after it died). Such a command has no clock (the
 * engine rebuilds clocks from the database only at start-up and after a cache loss), so it would never
 * expire, and no work signal, so a connected agent would not be sent it. The sweep hands it over again;
 * for a command the engine already knows that only re-arms the same clock and signals the device again.
 */
export const HANDOVER_GRACE_MS = 5000;

/**
 * Carries approved plans out (issue 12 item 5): step n + 1 is issued only once step n's command
 * succeeded, and any other end of a step fails the plan. Progress lives in the plan's row, and every move
 * is one call of advance_remediation_plan under the row's lock, so whichever instance sees a step end
 * (the delivery engine's onFinal on the instance that made the final transition) issues the next step,
 * exactly once. A sweep on every instance covers what no listener saw: a step that ended while its
 * instance was stopping, an approved plan whose instance stopped before step 0, a step issued but never
 * handed to the delivery engine, plans left undecided past their expiresAt. It also hears of sessions closing, and gives the session view its plans.
 */
@Injectable()
export class PlanExecutionService
  implements OnModuleInit, OnModuleDestroy, OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger(PlanExecutionService.name);
  private readonly unsubscribes: (() => void)[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  /**
   * Step commands this instance handed over again, while they stay queued: each once, not at every sweep
   * for as long as its device is away (each hand-over is a `command:updated` and a work signal).
   */
  private readonly handedOver = new Set<string>();
  private sweeping: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly plans: PlanRepository,
    private readonly commands: CommandRepository,
    private readonly delivery: CommandDelivery,
    private readonly announcer: PlanAnnouncer,
    private readonly closings: SessionClosings,
    private readonly sessionPlans: SessionPlans,
  ) {}

  onModuleInit(): void {
    this.unsubscribes.push(
      this.delivery.onFinal((command) => this.stepEnded(command)),
      this.closings.onClosed((session) => this.sessionClosed(session)),
      this.sessionPlans.provide(async (sessionId) =>
        (await this.plans.listBySession(sessionId)).map(toPlanResponse),
      ),
    );
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
  }

  onApplicationBootstrap(): void {
    // The first sweep runs at once: it picks up whatever an instance stopped in the middle of.
    this.startSweep();
    this.sweepTimer = setInterval(() => {
      this.startSweep();
    }, this.config.REMEDIATION_SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** Before the connections close: a sweep in flight finishes with the database it started on. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweepTimer);
    await this.sweeping;
  }

  /**
   * Moves the plan on as far as it goes now: issues its next step (and hands the command to the delivery
   * engine), completes it or fails it. Returns the plan as it then is; null when it does not exist.
   */
  async advance(planId: string): Promise<PlanRecord | null> {
    const move = await this.plans.advance(planId, this.config.REMEDIATION_STEP_EXPIRY_SEC);
    if (move.outcome === 'not_found') return null;
    if (move.outcome === 'unchanged') return move.plan;
    const { plan } = move;
    await this.recordEndedStep(plan, move.outcome);
    switch (move.outcome) {
      case 'issued': {
        const step = plan.steps[plan.currentStep ?? 0];
        await this.announcer.record(plan, 'system', 'step_issued', {
          step: step?.index,
          type: step?.type,
          commandId: move.commandId,
        });
        this.announcer.announce(plan);
        const command = await this.commands.findById(move.commandId);
        if (command) await this.delivery.submit(command);
        break;
      }
      case 'completed':
        await this.announcer.record(plan, 'system', 'completed', {});
        this.announcer.announce(plan);
        break;
      case 'failed':
        await this.announcer.record(plan, 'system', 'failed', { failure: plan.failure });
        this.announcer.announce(plan);
        break;
    }
    return plan;
  }

  /**
   * Cancels an approved or executing plan, then its running step's command through the delivery engine
   * (which tells the device when the command may be there). The caller maps the other outcomes.
   */
  async cancel(planId: string, actor: Actor): Promise<PlanCancellation> {
    const cancellation = await this.plans.cancel(planId);
    if (cancellation.outcome !== 'cancelled') return cancellation;
    const { plan, commandId } = cancellation;
    await this.announcer.record(plan, actor, 'cancelled', { step: plan.currentStep, commandId });
    this.announcer.announce(plan);
    if (commandId !== null) await this.delivery.cancel(commandId);
    return cancellation;
  }

  /** One pass of the sweep; public so that a test drives it without waiting for the interval. */
  async sweep(): Promise<void> {
    for (const plan of await this.plans.expire({ due: true }, SWEEP_BATCH)) {
      await this.expired(plan, 'expiresAt passed').catch((error: unknown) => {
        this.logger.warn(`Could not announce the expiry of plan ${plan.id}: ${String(error)}`);
      });
    }
    const due = await this.plans.listToAdvance(new Date(Date.now() - HANDOVER_GRACE_MS), SWEEP_BATCH);
    const waiting = new Set<string>();
    // One plan that fails is logged and retried by the next sweep; the others still move.
    for (const plan of due) {
      try {
        const commandId = plan.status === 'executing' ? plan.steps[plan.currentStep ?? 0]?.commandId : null;
        const command = commandId ? await this.commands.findById(commandId) : null;
        if (command?.status === 'queued') {
          waiting.add(command.id);
          if (this.handedOver.has(command.id)) continue;
          await this.delivery.submit(command);
          this.handedOver.add(command.id);
        } else await this.advance(plan.id);
      } catch (error) {
        this.logger.warn(`Could not move plan ${plan.id} on: ${String(error)}`);
      }
    }
    for (const id of this.handedOver) if (!waiting.has(id)) this.handedOver.delete(id);
  }

  /** The delivery engine's word that a command is final: for a plan's step, the plan moves on. */
  private async stepEnded(command: CommandRecord): Promise<void> {
    if (command.planId !== null) await this.advance(command.planId);
  }

  /** A closed session's proposed plans expire, and its approved or executing ones are cancelled. */
  private async sessionClosed(session: SessionRecord): Promise<void> {
    for (const plan of await this.plans.expire({ sessionId: session.id }, SWEEP_BATCH)) {
      await this.expired(plan, 'session closed');
    }
    const running = (await this.plans.listBySession(session.id)).filter(
      (plan) => plan.status === 'approved' || plan.status === 'executing',
    );
    for (const plan of running) await this.cancel(plan.id, session.closedBy ?? 'system');
  }

  private async expired(plan: PlanRecord, why: string): Promise<void> {
    await this.announcer.record(plan, 'system', 'expired', { reason: why });
    this.announcer.announce(plan);
  }

  /** The audit event of the step whose end this move recorded, if it recorded one. */
  private async recordEndedStep(plan: PlanRecord, outcome: 'issued' | 'completed' | 'failed'): Promise<void> {
    let index: number;
    if (outcome === 'issued') index = (plan.currentStep ?? 0) - 1;
    else if (outcome === 'completed') index = plan.steps.length - 1;
    else {
      const failed = plan.failure?.step ?? 0;
      // A step that failed to be issued (device or session gone) never ran: the one before it ended.
      index = plan.steps[failed]?.status === 'skipped' ? failed - 1 : failed;
    }
    const step = plan.steps[index];
    if (!step) return;
    const command = step.commandId === null ? null : await this.commands.findById(step.commandId);
    await this.announcer.record(plan, 'system', 'step_ended', {
      step: step.index,
      type: step.type,
      commandId: step.commandId,
      status: step.status,
      error: command?.error ?? null,
    });
  }

  private startSweep(): void {
    if (this.stopping) return;
    this.sweeping ??= this.sweep()
      .catch((error: unknown) => {
        this.logger.warn(`Remediation sweep failed: ${String(error)}`);
      })
      .finally(() => {
        this.sweeping = undefined;
      });
  }
}

import { randomUUID } from 'node:crypto';
import { type DeviceRecord } from '../../src/devices/device';
import { type NewPlan, type PlanRecord } from '../../src/remediation/plan';
import { planHash } from '../../src/remediation/plan-hash';
import { type PlanRepository } from '../../src/remediation/plan.repository';
import { type CommandRepository } from '../../src/sessions/commands/command.repository';
import { type CommandStatus } from '../../src/sessions/commands/command';
import { type SessionRecord } from '../../src/sessions/session';
import { SessionClosedError } from '../../src/sessions/sessions.errors';
import { type StorageUnderTest } from './storage.contract';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STEPS: NewPlan['steps'] = [
  { type: 'restart_interface', params: { interface: 'wlan0' }, description: 'Restart Wi-Fi', timeoutSec: 60 },
  { type: 'flush_dns', params: {}, description: 'Flush the DNS cache', timeoutSec: 15 },
  { type: 'reboot', params: {}, description: 'Reboot', timeoutSec: 300 },
];
const HASH = planHash(STEPS);

/**
 * What every PlanRepository adapter must do, run by describeStorageContract on the storage it opened.
 * Tests share that database: each works with devices and customers of its own.
 */
export function describePlanStorageContract(storage: () => StorageUnderTest): void {
  let plans: PlanRepository;
  let commands: CommandRepository;

  beforeAll(() => {
    const opened = storage();
    if (!opened.plans) throw new Error('this storage has no plan repository');
    plans = opened.plans;
    commands = opened.commands;
  });

  async function activeDevice(): Promise<DeviceRecord> {
    const device = await storage().devices.create({
      customerId: randomUUID(),
      name: 'Site router',
      serial: null,
      secretHash: `hash-${randomUUID()}`,
    });
    return (await storage().devices.update(device.id, { status: 'active' }))!;
  }

  async function openSession(device?: DeviceRecord): Promise<SessionRecord> {
    const on = device ?? (await activeDevice());
    return storage().sessions.open({
      deviceId: on.id,
      customerId: on.customerId,
      reason: null,
      openedBy: `customer:${on.customerId}`,
    });
  }

  function newPlan(session: SessionRecord, overrides: Partial<NewPlan> = {}): NewPlan {
    return {
      sessionId: session.id,
      summary: 'The Wi-Fi interface is wedged',
      rationale: 'wlan0 reports up but passes no traffic',
      risk: 'medium',
      steps: STEPS,
      planHash: HASH,
      proposedBy: 'service:planner',
      expiresInSec: 600,
      ...overrides,
    };
  }

  async function approved(session?: SessionRecord): Promise<PlanRecord> {
    const plan = await plans.propose(newPlan(session ?? (await openSession())));
    const decision = await plans.decide(plan.id, {
      decision: 'approve',
      planHash: HASH,
      decidedBy: `customer:${plan.customerId}`,
    });
    if (decision.outcome !== 'approved') throw new Error(`approval answered ${decision.outcome}`);
    return decision.plan;
  }

  /** Ends a step's command as the delivery engine would: sent, delivered, then the given final status. */
  async function endCommand(commandId: string, status: CommandStatus): Promise<void> {
    await commands.claimQueued((await commands.findById(commandId))!.deviceId, 5);
    await commands.transition(commandId, ['sent'], { status: 'delivered' });
    const ended = await commands.transition(commandId, ['delivered'], {
      status,
      ...(status === 'failed' ? { error: { code: 'link_down', message: 'wlan0 did not come back' } } : {}),
    });
    if (ended?.status !== status) throw new Error(`could not end command ${commandId} ${status}`);
  }

  describe('remediation plans', () => {
    it('proposes a plan in an open session with every field, and reads it back', async () => {
      const session = await openSession();
      const before = Date.now();

      const plan = await plans.propose(newPlan(session));

      expect(plan).toEqual({
        id: expect.stringMatching(UUID) as string,
        sessionId: session.id,
        deviceId: session.deviceId,
        customerId: session.customerId,
        status: 'proposed',
        summary: 'The Wi-Fi interface is wedged',
        rationale: 'wlan0 reports up but passes no traffic',
        risk: 'medium',
        steps: STEPS.map((step, index) => ({ ...step, index, commandId: null, status: 'pending' })),
        planHash: HASH,
        proposedBy: 'service:planner',
        decidedBy: null,
        decidedAt: null,
        decisionReason: null,
        expiresAt: expect.any(Date) as Date,
        currentStep: null,
        failure: null,
        revision: 1,
        createdAt: expect.any(Date) as Date,
        updatedAt: expect.any(Date) as Date,
      } satisfies PlanRecord);
      expect(plan.expiresAt.getTime() - plan.createdAt.getTime()).toBe(600_000);
      expect(Math.abs(plan.createdAt.getTime() - before)).toBeLessThan(60_000);
      await expect(plans.findById(plan.id)).resolves.toEqual(plan);
    });

    it('refuses a proposal in a closed or unknown session, and finds nothing for unknown ids', async () => {
      const session = await openSession();
      await storage().sessions.close(session.id, {
        closedBy: `customer:${session.customerId}`,
        closeReason: 'requested',
      });

      await expect(plans.propose(newPlan(session))).rejects.toBeInstanceOf(SessionClosedError);
      await expect(plans.propose(newPlan(session, { sessionId: randomUUID() }))).rejects.toBeInstanceOf(
        SessionClosedError,
      );
      await expect(plans.propose(newPlan(session, { sessionId: 'nope' }))).rejects.toBeInstanceOf(
        SessionClosedError,
      );
      expect(await plans.listBySession(session.id)).toEqual([]);
      expect(await plans.findById(randomUUID())).toBeNull();
      expect(await plans.findById('not-a-uuid')).toBeNull();
      expect(await plans.decide('x', { decision: 'reject', reason: null, decidedBy: 'system' })).toEqual({
        outcome: 'not_found',
      });
      expect(await plans.advance(randomUUID(), 60)).toEqual({ outcome: 'not_found' });
      expect(await plans.cancel(randomUUID())).toEqual({ outcome: 'not_found' });
    });

    it("lists a session's plans oldest first", async () => {
      const session = await openSession();
      const first = await plans.propose(newPlan(session));
      const second = await plans.propose(newPlan(session, { summary: 'Second thoughts' }));

      expect((await plans.listBySession(session.id)).map((plan) => plan.id)).toEqual([first.id, second.id]);
    });

    it('approves only with the plan’s hash, once, recording who and when', async () => {
      const plan = await plans.propose(newPlan(await openSession()));
      const customer = `customer:${plan.customerId}` as const;

      const wrong = await plans.decide(plan.id, {
        decision: 'approve',
        planHash: 'f'.repeat(64),
        decidedBy: customer,
      });
      expect(wrong).toMatchObject({ outcome: 'hash_mismatch', plan: { status: 'proposed', revision: 1 } });

      const outcomes = await Promise.all(
        [1, 2, 3].map(() =>
          plans.decide(plan.id, { decision: 'approve', planHash: HASH, decidedBy: customer }),
        ),
      );
      expect(outcomes.map((outcome) => outcome.outcome).sort()).toEqual([
        'approved',
        'not_proposed',
        'not_proposed',
      ]);
      const stored = await plans.findById(plan.id);
      expect(stored).toMatchObject({
        status: 'approved',
        decidedBy: customer,
        revision: 2,
        decisionReason: null,
      });
      expect(stored!.decidedAt).toBeInstanceOf(Date);
    });

    it('rejects with a reason, and then takes no other decision', async () => {
      const plan = await plans.propose(newPlan(await openSession()));
      const customer = `customer:${plan.customerId}` as const;

      const rejected = await plans.decide(plan.id, {
        decision: 'reject',
        reason: 'Not now',
        decidedBy: customer,
      });
      const late = await plans.decide(plan.id, { decision: 'approve', planHash: HASH, decidedBy: customer });

      expect(rejected).toMatchObject({
        outcome: 'rejected',
        plan: { status: 'rejected', decisionReason: 'Not now', decidedBy: customer, revision: 2 },
      });
      expect(late).toMatchObject({ outcome: 'not_proposed', plan: { status: 'rejected' } });
    });

    it('expires a plan decided after its expiresAt instead of deciding it', async () => {
      const plan = await plans.propose(newPlan(await openSession()));
      await storage().setPlanExpiresAt!([plan.id], new Date(Date.now() - 1000));

      const late = await plans.decide(plan.id, {
        decision: 'approve',
        planHash: HASH,
        decidedBy: `customer:${plan.customerId}`,
      });

      expect(late).toMatchObject({
        outcome: 'expired',
        plan: { status: 'expired', decidedBy: null, revision: 2 },
      });
    });

    it('approves only while the session is open and the device active', async () => {
      const device = await activeDevice();
      const session = await openSession(device);
      const inClosed = await plans.propose(newPlan(session));
      await storage().sessions.close(session.id, { closedBy: 'system', closeReason: 'requested' });
      const onRevoked = await plans.propose(newPlan(await openSession(device)));
      await storage().devices.revoke(device.id);
      const decide = (plan: PlanRecord) =>
        plans.decide(plan.id, {
          decision: 'approve',
          planHash: HASH,
          decidedBy: `customer:${plan.customerId}`,
        });

      expect(await decide(inClosed)).toMatchObject({
        outcome: 'session_not_open',
        plan: { status: 'proposed' },
      });
      expect(await decide(onRevoked)).toMatchObject({
        outcome: 'device_unavailable',
        plan: { status: 'proposed' },
      });
    });

    it('issues the steps one at a time, each after the one before succeeded, and completes', async () => {
      const plan = await approved();
      const customer = `customer:${plan.customerId}`;
      const issued: string[] = [];

      for (const index of [0, 1, 2]) {
        const move = await plans.advance(plan.id, 120);
        if (move.outcome !== 'issued') throw new Error(`step ${index}: ${move.outcome}`);
        expect(move.plan).toMatchObject({ status: 'executing', currentStep: index });
        expect(move.plan.steps[index]).toMatchObject({ commandId: move.commandId, status: 'issued' });
        const command = await commands.findById(move.commandId);
        expect(command).toMatchObject({
          sessionId: plan.sessionId,
          planId: plan.id,
          stepIndex: index,
          type: STEPS[index]!.type,
          params: STEPS[index]!.params,
          timeoutSec: STEPS[index]!.timeoutSec,
          status: 'queued',
          issuedBy: customer,
        });
        expect(command!.expiresAt.getTime() - command!.createdAt.getTime()).toBe(120_000);
        // While the step runs, nothing moves.
        expect(await plans.advance(plan.id, 120)).toMatchObject({ outcome: 'unchanged' });
        issued.push(move.commandId);
        await endCommand(move.commandId, 'succeeded');
      }

      const done = await plans.advance(plan.id, 120);
      expect(done).toMatchObject({ outcome: 'completed', plan: { status: 'completed', failure: null } });
      if (done.outcome !== 'completed') return;
      expect(done.plan.steps.map((step) => [step.commandId, step.status])).toEqual(
        issued.map((id) => [id, 'succeeded']),
      );
      expect(await plans.advance(plan.id, 120)).toMatchObject({ outcome: 'unchanged' });
    });

    it('issues each step exactly once when callers race to advance', async () => {
      const plan = await approved();

      const first = await Promise.all([1, 2, 3, 4].map(() => plans.advance(plan.id, 120)));
      expect(first.filter((move) => move.outcome === 'issued')).toHaveLength(1);
      const [issued] = first.filter((move) => move.outcome === 'issued');
      if (issued?.outcome !== 'issued') return;
      await endCommand(issued.commandId, 'succeeded');
      const second = await Promise.all([1, 2, 3, 4].map(() => plans.advance(plan.id, 120)));

      expect(second.map((move) => move.outcome).sort()).toEqual([
        'issued',
        'unchanged',
        'unchanged',
        'unchanged',
      ]);
      const page = await commands.listBySession({ sessionId: plan.sessionId, limit: 10 });
      expect(page.items.map((command) => command.stepIndex)).toEqual([0, 1]);
    });

    it('fails the plan naming the step whose command did not succeed, and skips the later ones', async () => {
      const plan = await approved();
      const step0 = await plans.advance(plan.id, 120);
      if (step0.outcome !== 'issued') throw new Error(step0.outcome);
      await endCommand(step0.commandId, 'succeeded');
      const step1 = await plans.advance(plan.id, 120);
      if (step1.outcome !== 'issued') throw new Error(step1.outcome);
      await endCommand(step1.commandId, 'failed');

      const failed = await plans.advance(plan.id, 120);

      expect(failed).toMatchObject({
        outcome: 'failed',
        plan: {
          status: 'failed',
          failure: { step: 1, code: 'link_down', message: 'wlan0 did not come back' },
        },
      });
      if (failed.outcome !== 'failed') return;
      expect(failed.plan.steps.map((step) => step.status)).toEqual(['succeeded', 'failed', 'skipped']);
      expect(failed.plan.steps[2]!.commandId).toBeNull();
      const page = await commands.listBySession({ sessionId: plan.sessionId, limit: 10 });
      expect(page.items).toHaveLength(2);
    });

    it('fails the plan at the step due when the session has closed or the device is gone', async () => {
      const closedOne = await approved();
      await storage().sessions.close(closedOne.sessionId, { closedBy: 'system', closeReason: 'requested' });
      const device = await activeDevice();
      const revokedOne = await approved(await openSession(device));
      await storage().devices.revoke(device.id);

      const afterClose = await plans.advance(closedOne.id, 120);
      const afterRevoke = await plans.advance(revokedOne.id, 120);

      expect(afterClose).toMatchObject({
        outcome: 'failed',
        plan: { status: 'failed', failure: { step: 0, code: 'session_closed' } },
      });
      expect(afterRevoke).toMatchObject({
        outcome: 'failed',
        plan: { status: 'failed', failure: { step: 0, code: 'device_unavailable' } },
      });
      if (afterRevoke.outcome !== 'failed') return;
      expect(afterRevoke.plan.steps.map((step) => step.status)).toEqual(['skipped', 'skipped', 'skipped']);
    });

    it('cancels an approved or executing plan, naming the open command to cancel, and nothing else', async () => {
      const waiting = await approved();
      const running = await approved();
      const move = await plans.advance(running.id, 120);
      if (move.outcome !== 'issued') throw new Error(move.outcome);
      const proposed = await plans.propose(newPlan(await openSession()));

      const cancelledWaiting = await plans.cancel(waiting.id);
      const cancelledRunning = await plans.cancel(running.id);
      const again = await plans.cancel(running.id);
      const notYet = await plans.cancel(proposed.id);

      expect(cancelledWaiting).toMatchObject({
        outcome: 'cancelled',
        commandId: null,
        plan: { status: 'cancelled' },
      });
      expect(cancelledRunning).toMatchObject({
        outcome: 'cancelled',
        commandId: move.commandId,
        plan: { status: 'cancelled', currentStep: 0 },
      });
      if (cancelledRunning.outcome !== 'cancelled') return;
      expect(cancelledRunning.plan.steps.map((step) => step.status)).toEqual([
        'cancelled',
        'skipped',
        'skipped',
      ]);
      expect(again).toMatchObject({ outcome: 'not_cancellable', plan: { status: 'cancelled' } });
      expect(notYet).toMatchObject({ outcome: 'not_cancellable', plan: { status: 'proposed' } });
      expect(await plans.advance(running.id, 120)).toMatchObject({ outcome: 'unchanged' });
    });

    it('expires the proposed plans of a session, or those past their expiresAt, once', async () => {
      const session = await openSession();
      const a = await plans.propose(newPlan(session));
      const b = await plans.propose(newPlan(session));
      const decided = await approved(session);
      const overdue = await plans.propose(newPlan(await openSession()));
      const fresh = await plans.propose(newPlan(await openSession()));
      await storage().setPlanExpiresAt!([overdue.id], new Date(Date.now() - 1000));

      const ofSession = await plans.expire({ sessionId: session.id }, 10);
      const due = await plans.expire({ due: true }, 1000);

      expect(ofSession.map((plan) => plan.id).sort()).toEqual([a.id, b.id].sort());
      expect(ofSession.every((plan) => plan.status === 'expired' && plan.revision === 2)).toBe(true);
      expect(due.map((plan) => plan.id)).toContain(overdue.id);
      expect(due.map((plan) => plan.id)).not.toContain(fresh.id);
      expect(await plans.expire({ sessionId: session.id }, 10)).toEqual([]);
      expect((await plans.findById(decided.id))?.status).toBe('approved');
      expect((await plans.findById(fresh.id))?.status).toBe('proposed');
    });

    it('lists for the sweep the approved plans and those whose current step is final', async () => {
      const waiting = await approved();
      const running = await approved();
      const ended = await approved();
      const runningMove = await plans.advance(running.id, 120);
      const endedMove = await plans.advance(ended.id, 120);
      if (runningMove.outcome !== 'issued' || endedMove.outcome !== 'issued') throw new Error('not issued');
      await commands.claimQueued(running.deviceId, 1);
      await endCommand(endedMove.commandId, 'timed_out');

      const listed = (await plans.listToAdvance(new Date(Date.now() - 60_000), 1000)).map((plan) => plan.id);

      expect(listed).toEqual(expect.arrayContaining([waiting.id, ended.id]));
      expect(listed).not.toContain(running.id);
      // A step's command still queued a while after its issue is listed too (to hand it over again).
      const queuedMove = await plans.advance((await approved()).id, 120);
      if (queuedMove.outcome !== 'issued') throw new Error(queuedMove.outcome);
      const handedOver = await plans.listToAdvance(new Date(Date.now() + 1000), 1000);
      expect(handedOver.map((plan) => plan.id)).toContain(queuedMove.plan.id);
    });
  });
}

import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { type Socket } from 'socket.io-client';
import { AppConfig } from '../../src/config/app-config';
import { type PlanResponse } from '../../src/remediation/dto/plan.response';
import { HANDOVER_GRACE_MS } from '../../src/remediation/plan-execution.service';
import { type CommandRecord } from '../../src/sessions/commands/command';
import { type CommandType } from '../../src/sessions/commands/command-catalogue';
import { type CommandResponse } from '../../src/sessions/commands/dto/command.response';
import {
  assertBuilt,
  BUILT_MAIN,
  environmentOf,
  readyOrOutput,
  ROOT,
  START_DEADLINE_MS,
} from '../support/built-gateway';
import { ManagedProcess } from '../support/child-process';
import { eventually, holdsFor } from '../support/eventually';
import { findFreePort } from '../support/free-port';
import { basic, bearer, type GatewayInstance, request } from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { actAs, openSession, readCommand, SHORT_CLOCKS, succeeding } from '../commands/command-fixtures';
import { disconnection, record } from '../support/socket-clients';
import { queryDatabase } from '../support/test-database';

const SERVICE_KEY = randomBytes(32).toString('base64url');

const THREE_STEPS: { type: CommandType; params: Record<string, unknown>; description: string }[] = [
  { type: 'restart_interface', params: { interface: 'wlan0' }, description: 'Restart the Wi-Fi interface' },
  { type: 'flush_dns', params: {}, description: 'Flush the DNS cache' },
  {
    type: 'set_dns_servers',
    params: { interface: 'wlan0', servers: ['1.1.1.1'] },
    description: 'Use 1.1.1.1',
  },
];

/**
 * A plan whose instance is SIGKILLed between two steps (issue 12, done when): a gateway child process
 * holds the agent's socket and takes step 0's result, so the final transition, and with it the engine's
 * onFinal that would issue step 1, happen there. The test holds the plan's row lock meanwhile, so that
 * no instance can move the plan on before the child is dead; the statements that waited for the row
 * since before the kill are then cancelled, as the end of a direct connection would roll them back
 * (through PostgREST a dead client's statement would otherwise run on). The surviving instance never
 * hears step 0 end: only its plan sweep can see it, and it must issue step 1 exactly once, to the agent
 * now connected to it.
 *
 * Had the dead instance's statement committed instead, step 1 would be queued with no clock and no work
 * signal: the other two tests leave it so (the test runs that move itself under the row lock) and show
 * the sweep hands it to the delivery engine once its grace has passed, and once only.
 */
describe('a remediation plan when the instance that would advance it is killed', () => {
  let cluster: RealtimeCluster;
  let survivor: GatewayInstance;
  let doomed: ManagedProcess | undefined;
  let locker: Client | undefined;
  let customer: { accessToken: string; customerId: string };

  beforeAll(async () => {
    assertBuilt();
    cluster = await startRealtimeCluster('remediation-crash', 1, {
      ...SHORT_CLOCKS,
      SERVICE_KEYS: `planner:${SERVICE_KEY}`,
      REMEDIATION_SWEEP_INTERVAL_MS: '100',
      LOG_LEVEL: 'silent',
    });
    [survivor] = cluster.instances as [GatewayInstance];
    customer = await cluster.stack.mintCustomerToken();
  }, 60_000);

  afterAll(async () => {
    await locker?.end().catch(() => undefined);
    await doomed?.stop('SIGKILL');
    await cluster?.close();
  });

  /** A registered device of the customer, an open session on it, and a three-step plan proposed there. */
  async function proposedPlan() {
    const { device, credentials } = await cluster.createDevice(customer.accessToken);
    const registered = await request(`${survivor.url}/v1/agent/register`, {
      method: 'POST',
      authorization: basic(credentials.deviceId, credentials.secret),
      body: { agentVersion: '1.0.0', capabilities: THREE_STEPS.map((step) => step.type) },
    });
    expect(registered.status).toBe(200);
    const sessionId = await openSession(survivor, device.id, customer.accessToken);
    const proposed = await request<PlanResponse>(
      `${survivor.url}/v1/sessions/${sessionId}/remediation-plans`,
      {
        method: 'POST',
        authorization: bearer(SERVICE_KEY),
        body: { summary: 'Wi-Fi is wedged', risk: 'medium', steps: THREE_STEPS },
      },
    );
    expect(proposed.status).toBe(201);
    return { credentials, planId: proposed.body.id, planHash: proposed.body.planHash };
  }

  async function approve(planId: string, planHash: string): Promise<void> {
    const approved = await request<PlanResponse>(`${survivor.url}/v1/remediation-plans/${planId}/approve`, {
      method: 'POST',
      authorization: bearer(customer.accessToken),
      body: { planHash },
    });
    expect(approved.status).toBe(200);
  }

  function completion(planId: string): Promise<PlanResponse> {
    return eventually(
      'the plan completed',
      async () =>
        (
          await request<PlanResponse>(`${survivor.url}/v1/remediation-plans/${planId}`, {
            authorization: bearer(customer.accessToken),
          })
        ).body,
      (plan) => plan.status === 'completed',
      { timeoutMs: 20_000 },
    );
  }

  // The stack's database is this file's own: every statement waiting for a lock in it waits for the
  // plan's row (the first behind the test, the others behind the first).
  const waiting = async (): Promise<number> => {
    const { rows } = await queryDatabase<{ count: string }>(
      cluster.stack.database.url,
      `select count(*) from pg_stat_activity
       where datname = current_database() and wait_event_type = 'Lock'`,
      [],
    );
    return Number(rows[0]!.count);
  };

  /**
   * Step 1 as an instance that died right after its move leaves it: the test holds the plan's row while
   * the agent answers step 0 (so the survivor's own moves wait), runs the move itself in that
   * transaction, as the dead instance's statement would, and commits. Step 1 is then queued, and nobody
   * handed it to the delivery engine: no clock, no work signal. `beforeCommit` runs just before.
   */
  async function stepOneLeftUnsubmitted(
    planId: string,
    step0: CommandResponse,
    agent: Socket,
    beforeCommit: () => Promise<void>,
  ): Promise<void> {
    const owner = new Client({ connectionString: cluster.stack.database.url });
    locker = owner;
    await owner.connect();
    await owner.query('begin');
    await owner.query('select id from public.remediation_plans where id = $1 for update', [planId]);
    agent.emit('command:result', { commandId: step0.id, status: 'succeeded', output: { restarted: true } });
    await eventually('the survivor waits to move the plan', waiting, (count) => count >= 1);
    const { rows } = await owner.query<{ move: { outcome: string } }>(
      'select public.advance_remediation_plan($1, 600) as move',
      [planId],
    );
    expect(rows[0]?.move.outcome).toBe('issued');
    await beforeCommit();
    await owner.query('commit');
    await owner.end();
    locker = undefined;
  }

  async function commandsOfPlan(planId: string): Promise<CommandRecord[]> {
    const { rows } = await queryDatabase<{ id: string }>(
      cluster.stack.database.url,
      'select id from public.commands where plan_id = $1 order by step_index',
      [planId],
    );
    return (await Promise.all(rows.map((row) => readCommand(survivor, row.id)))) as CommandRecord[];
  }

  it(
    'issues the next step once, from the surviving instance’s sweep, and completes the plan',
    async () => {
      const port = await findFreePort();
      const doomedUrl = `http://127.0.0.1:${port}`;
      doomed = new ManagedProcess(process.execPath, [BUILT_MAIN], {
        // Its plan sweep never comes due: step 0's end reaches it only through the engine's onFinal.
        env: { ...environmentOf(survivor.app.get(AppConfig), port), REMEDIATION_SWEEP_INTERVAL_MS: '60000' },
        cwd: ROOT,
      });
      await readyOrOutput(doomed, doomedUrl, 'the child gateway serves');

      const { credentials, planId, planHash } = await proposedPlan();

      // On the doomed instance, the agent acks step 0 and answers it when the test says.
      const first: Socket = await cluster.sockets.connectAgent(doomedUrl, credentials);
      const onDoomed = actAs(first, (_command, ack) => {
        ack({ accepted: true });
      });
      await approve(planId, planHash);
      const [step0] = await eventually(
        'step 0 reached the agent on the doomed instance',
        () => Promise.resolve(onDoomed),
        (received) => received.length === 1,
      );

      locker = new Client({ connectionString: cluster.stack.database.url });
      await locker.connect();
      await locker.query('begin');
      await locker.query('select id from public.remediation_plans where id = $1 for no key update', [planId]);
      first.emit('command:result', {
        commandId: step0!.id,
        status: 'succeeded',
        output: { restarted: true },
      });
      await eventually(
        'step 0 succeeded on the doomed instance',
        () => readCommand(survivor, step0!.id),
        (command) => command?.status === 'succeeded',
      );
      // Two moves wait for the row: the doomed instance's, from onFinal, and the survivor's sweep.
      await eventually('both instances wait to move the plan', waiting, (count) => count === 2);

      const gone = disconnection(first, 10_000);
      await doomed.stop('SIGKILL');
      await gone;
      const killedAt = new Date();
      const second = await cluster.sockets.connectAgent(survivor.url, credentials);
      const onSurvivor = actAs(second, succeeding);
      await locker.query(
        `select pg_cancel_backend(pid) from pg_stat_activity
         where datname = current_database() and wait_event_type = 'Lock' and xact_start < $1`,
        [killedAt],
      );
      await locker.query('rollback');
      await locker.end();
      locker = undefined;

      const completed = await completion(planId);

      expect(completed.steps.map((step) => step.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      const steps = await commandsOfPlan(planId);
      expect(steps.map((command) => [command.stepIndex, command.status, command.attempt])).toEqual([
        [0, 'succeeded', 1],
        [1, 'succeeded', 1],
        [2, 'succeeded', 1],
      ]);
      expect(completed.steps.map((step) => step.commandId)).toEqual(steps.map((command) => command.id));
      // Step 1 was issued after the doomed instance was dead: by the survivor, once.
      expect(steps[1]!.createdAt.getTime()).toBeGreaterThanOrEqual(killedAt.getTime());
      expect(onDoomed.map((command) => command.id)).toEqual([steps[0]!.id]);
      expect(new Set(onSurvivor.map((command: CommandResponse) => command.id))).toEqual(
        new Set([steps[1]!.id, steps[2]!.id]),
      );

      const { rows } = await queryDatabase<{ action: string; details: { step?: number; status?: string } }>(
        cluster.stack.database.url,
        `select action, details from public.audit_events
         where subject_type = 'remediation_plan' and subject_id = $1 order by id`,
        [planId],
      );
      expect(rows.map((row) => [row.action, row.details.step ?? null, row.details.status ?? null])).toEqual([
        ['remediation.proposed', null, null],
        ['remediation.approved', null, null],
        ['remediation.step_issued', 0, null],
        ['remediation.step_ended', 0, 'succeeded'],
        ['remediation.step_issued', 1, null],
        ['remediation.step_ended', 1, 'succeeded'],
        ['remediation.step_issued', 2, null],
        ['remediation.step_ended', 2, 'succeeded'],
        ['remediation.completed', null, null],
      ]);
    },
    START_DEADLINE_MS + 60_000,
  );

  it('hands a step over once its grace has passed when its instance died before submitting it', async () => {
    const { credentials, planId, planHash } = await proposedPlan();
    const portal = await cluster.sockets.connectPortal(survivor.url, customer.accessToken);
    const updates = record<CommandResponse>(portal, 'command:updated');
    const agent = await cluster.sockets.connectAgent(survivor.url, credentials);
    const arrivals: { id: string; at: number }[] = [];
    const received = actAs(agent, (command, ack) => {
      arrivals.push({ id: command.id, at: Date.now() });
      if (arrivals.length === 1) ack({ accepted: true });
      else succeeding(command, ack, agent);
    });
    await approve(planId, planHash);
    const [step0] = await eventually(
      'step 0 reached the agent',
      () => Promise.resolve(received),
      (seen) => seen.length === 1,
    );

    await stepOneLeftUnsubmitted(planId, step0!, agent, () => Promise.resolve());

    await completion(planId);
    const steps = await commandsOfPlan(planId);
    expect(steps.map((command) => [command.stepIndex, command.status])).toEqual([
      [0, 'succeeded'],
      [1, 'succeeded'],
      [2, 'succeeded'],
    ]);
    expect(arrivals.map((arrival) => arrival.id)).toEqual(steps.map((command) => command.id));
    // The agent was connected all along: step 1 came with the sweep's hand-over, not before.
    expect(arrivals[1]!.at - steps[1]!.createdAt.getTime()).toBeGreaterThanOrEqual(HANDOVER_GRACE_MS);
    const handedOver = updates.filter(
      ({ payload }) => payload.id === steps[1]!.id && payload.status === 'queued',
    );
    expect(handedOver).toHaveLength(1);
  }, 30_000);

  it('hands a waiting step over once, not at every sweep, while its device is away', async () => {
    const { credentials, planId, planHash } = await proposedPlan();
    const portal = await cluster.sockets.connectPortal(survivor.url, customer.accessToken);
    const updates = record<CommandResponse>(portal, 'command:updated');
    const agent = await cluster.sockets.connectAgent(survivor.url, credentials);
    const received = actAs(agent, (_command, ack) => {
      ack({ accepted: true });
    });
    await approve(planId, planHash);
    const [step0] = await eventually(
      'step 0 reached the agent',
      () => Promise.resolve(received),
      (seen) => seen.length === 1,
    );

    await stepOneLeftUnsubmitted(planId, step0!, agent, async () => {
      const gone = disconnection(agent);
      agent.disconnect();
      await gone.catch(() => undefined);
    });

    const [, step1] = await commandsOfPlan(planId);
    const handOvers = () =>
      Promise.resolve(
        updates.filter(({ payload }) => payload.id === step1!.id && payload.status === 'queued'),
      );
    await eventually('the sweep handed step 1 over', handOvers, (seen) => seen.length === 1, {
      timeoutMs: 15_000,
    });
    await holdsFor('one hand-over while the device is away', handOvers, (seen) => seen.length === 1, 1_000);

    const back = await cluster.sockets.connectAgent(survivor.url, credentials);
    actAs(back, succeeding);
    expect((await completion(planId)).steps.map((step) => step.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
  }, 30_000);
});

import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { type Socket } from 'socket.io-client';
import { AppConfig } from '../../src/config/app-config';
import { type PlanResponse } from '../../src/remediation/dto/plan.response';
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
import { eventually } from '../support/eventually';
import { findFreePort } from '../support/free-port';
import { basic, bearer, type GatewayInstance, request } from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { actAs, openSession, readCommand, SHORT_CLOCKS, succeeding } from '../commands/command-fixtures';
import { disconnection } from '../support/socket-clients';
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
      const planId = proposed.body.id;

      // On the doomed instance, the agent acks step 0 and answers it when the test says.
      const first: Socket = await cluster.sockets.connectAgent(doomedUrl, credentials);
      const onDoomed = actAs(first, (_command, ack) => {
        ack({ accepted: true });
      });
      const approved = await request<PlanResponse>(`${survivor.url}/v1/remediation-plans/${planId}/approve`, {
        method: 'POST',
        authorization: bearer(customer.accessToken),
        body: { planHash: proposed.body.planHash },
      });
      expect(approved.status).toBe(200);
      const [step0] = await eventually(
        'step 0 reached the agent on the doomed instance',
        () => Promise.resolve(onDoomed),
        (received) => received.length === 1,
      );

      locker = new Client({ connectionString: cluster.stack.database.url });
      await locker.connect();
      await locker.query('begin');
      await locker.query('select id from public.remediation_plans where id = $1 for no key update', [planId]);
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

      const completed = await eventually(
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
});

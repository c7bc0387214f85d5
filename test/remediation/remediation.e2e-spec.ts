import { randomBytes, randomUUID } from 'node:crypto';
import { type PlanResponse } from '../../src/remediation/dto/plan.response';
import { planHash } from '../../src/remediation/plan-hash';
import { DEFAULT_BEHAVIOUR } from '../../src/cli/agent-sim/command-runner';
import { SocketAgent } from '../../src/cli/agent-sim/socket-agent';
import { PlanExecutionService } from '../../src/remediation/plan-execution.service';
import { type CommandRecord } from '../../src/sessions/commands/command';
import { type CommandType } from '../../src/sessions/commands/command-catalogue';
import { CommandRepository } from '../../src/sessions/commands/command.repository';
import { type CommandResponse } from '../../src/sessions/commands/dto/command.response';
import { type SessionWithCommandsResponse } from '../../src/sessions/dto/session.response';
import { eventually } from '../support/eventually';
import { basic, bearer, type GatewayInstance, request } from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { nextEvent, record } from '../support/socket-clients';
import { queryDatabase } from '../support/test-database';

interface Problem {
  code: string;
  detail: string;
  errors?: { field: string; message: string }[];
}
type PlanAnswer = PlanResponse & Problem;

/** The longest sweep interval the configuration takes: no sweep comes due while a test runs. */
const SWEEP_INTERVAL_MS = 60_000;
const SERVICE_KEY = randomBytes(32).toString('base64url');
const service = bearer(SERVICE_KEY);

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
 * Remediation plans end to end (docs/guide.md#remediation-plans; issue 12): two gateway instances on real
 * PostgREST/PostgreSQL and real Redis, real HTTP and Socket.IO clients over TCP, and a real agent socket
 * that runs the steps the delivery engine sends it. The plan sweep is set far apart, so that a plan that
 * moves on does so from the step's end (the engine's onFinal on the instance that took the result); the
 * expiry test runs a sweep itself. The sweep's own rescue is test/remediation/instance-crash.e2e-spec.ts.
 */
describe('remediation plans across two instances', () => {
  let cluster: RealtimeCluster;
  let a: GatewayInstance;
  let b: GatewayInstance;
  let customerA: { accessToken: string; customerId: string };
  let customerB: { accessToken: string; customerId: string };
  const simulatedAgents: SocketAgent[] = [];

  beforeAll(async () => {
    cluster = await startRealtimeCluster('remediation', 2, {
      SERVICE_KEYS: `planner:${SERVICE_KEY}`,
      REMEDIATION_SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS),
    });
    [a, b] = cluster.instances as [GatewayInstance, GatewayInstance];
    customerA = await cluster.stack.mintCustomerToken();
    customerB = await cluster.stack.mintCustomerToken();
  }, 60_000);

  afterAll(async () => {
    for (const simulated of simulatedAgents) simulated.stop();
    await cluster?.close();
  });

  /**
   * The device: a real socket.io-client agent on `/agent` of `instance`. It acks each `command`, then
   * answers its result over the socket, and records when each command
   * arrived and when its result left, so that a test sees the order the device lived. A command
   * delivered again (at least once) is acked and answered again, not recorded twice.
   */
  async function deviceAgent(instance: GatewayInstance, credentials: { deviceId: string; secret: string }) {
    const socket = await cluster.sockets.connectAgent(instance.url, credentials);
    const seen: { event: 'command' | 'result'; commandId: string; type: CommandType; at: number }[] = [];
    const deliveries: string[] = [];
    socket.on('command', (command: CommandResponse, ack: (answer: { accepted: boolean }) => void) => {
      deliveries.push(command.id);
      const again = seen.some((entry) => entry.commandId === command.id);
      if (!again) seen.push({ event: 'command', commandId: command.id, type: command.type, at: Date.now() });
      ack({ accepted: true });
      if (!again) seen.push({ event: 'result', commandId: command.id, type: command.type, at: Date.now() });
      socket.emit('command:result', { commandId: command.id, status: 'succeeded', output: { ok: true } });
    });
    return { seen, deliveries };
  }

  /** The commands a plan has put on the device's queue, oldest first. */
  async function commandsOfPlan(planId: string): Promise<CommandRecord[]> {
    const commands = a.app.get(CommandRepository);
    const { rows } = await queryDatabase<{ id: string }>(
      cluster.stack.database.url,
      'select id from public.commands where plan_id = $1 order by step_index',
      [planId],
    );
    return (await Promise.all(rows.map((row) => commands.findById(row.id)))) as CommandRecord[];
  }

  /** A registered (active) device of customer A with an open session. */
  async function openSessionOfA(): Promise<{
    deviceId: string;
    sessionId: string;
    credentials: { deviceId: string; secret: string };
  }> {
    const { device: created, credentials } = await cluster.createDevice(customerA.accessToken);
    const registered = await request(`${a.url}/v1/agent/register`, {
      method: 'POST',
      authorization: basic(credentials.deviceId, credentials.secret),
      body: { agentVersion: '1.0.0', capabilities: THREE_STEPS.map((step) => step.type) },
    });
    expect(registered.status).toBe(200);
    const session = await request<{ id: string }>(`${a.url}/v1/devices/${created.id}/sessions`, {
      method: 'POST',
      authorization: bearer(customerA.accessToken),
      body: {},
    });
    expect(session.status).toBe(201);
    return { deviceId: created.id, sessionId: session.body.id, credentials };
  }

  function propose(instance: GatewayInstance, sessionId: string, body: unknown, authorization = service) {
    return request<PlanAnswer>(`${instance.url}/v1/sessions/${sessionId}/remediation-plans`, {
      method: 'POST',
      authorization,
      body,
    });
  }

  function planBody(overrides: Record<string, unknown> = {}) {
    return {
      summary: 'Wi-Fi is wedged',
      rationale: 'wlan0 passes no traffic',
      risk: 'medium',
      steps: THREE_STEPS,
      ...overrides,
    };
  }

  function act(instance: GatewayInstance, planId: string, action: string, token: string, body?: unknown) {
    return request<PlanAnswer>(`${instance.url}/v1/remediation-plans/${planId}/${action}`, {
      method: 'POST',
      authorization: bearer(token),
      body,
    });
  }

  function readPlan(
    instance: GatewayInstance,
    planId: string,
    authorization = bearer(customerA.accessToken),
  ) {
    return request<PlanAnswer>(`${instance.url}/v1/remediation-plans/${planId}`, { authorization });
  }

  async function planUntil(planId: string, accept: (plan: PlanResponse) => boolean): Promise<PlanResponse> {
    return eventually(`plan ${planId}`, async () => (await readPlan(b, planId)).body, accept, {
      timeoutMs: 15_000,
    });
  }

  async function proposed(sessionId: string, overrides: Record<string, unknown> = {}): Promise<PlanResponse> {
    const answer = await propose(a, sessionId, planBody(overrides));
    expect(answer.status).toBe(201);
    return answer.body;
  }

  it('refuses a proposal from a customer, in a closed or unknown session, and with bad steps naming each step', async () => {
    const { sessionId } = await openSessionOfA();
    const refused = async (body: unknown) => {
      const answer = await propose(b, sessionId, body);
      return [answer.status, answer.body.code, answer.body.errors?.map((error) => error.field)];
    };
    const step = (overrides: Record<string, unknown>) => ({ ...THREE_STEPS[0], ...overrides });

    expect(
      await refused(planBody({ steps: [step({ type: 'ping', params: { host: 'example.com', count: 1 } })] })),
    ).toEqual([400, 'validation_failed', ['steps[0].type']]);
    expect(
      await refused(planBody({ steps: [THREE_STEPS[1], step({ params: { interface: 'eth0; reboot' } })] })),
    ).toEqual([400, 'validation_failed', ['steps[1].params.interface']]);
    expect(await refused(planBody({ steps: [step({ type: 'format_disk' })] }))).toEqual([
      400,
      'validation_failed',
      ['steps[0].type'],
    ]);
    expect(
      await refused(
        planBody({ steps: [THREE_STEPS[1], THREE_STEPS[1], step({ description: '', extra: true })] }),
      ),
    ).toEqual([400, 'validation_failed', ['steps[2].extra', 'steps[2].description']]);
    expect(
      await refused(
        planBody({
          steps: [{ type: 'set_dns_servers', params: { interface: 'eth0', servers: [] }, description: 'x' }],
        }),
      ),
    ).toEqual([400, 'validation_failed', ['steps[0].params.servers']]);
    expect(await refused(planBody({ steps: [] }))).toEqual([400, 'validation_failed', ['steps']]);
    expect(await refused(planBody({ steps: Array.from({ length: 21 }, () => THREE_STEPS[1]) }))).toEqual([
      400,
      'validation_failed',
      ['steps'],
    ]);
    expect(await refused(planBody({ risk: 'extreme' }))).toEqual([400, 'validation_failed', ['risk']]);
    expect(await refused(planBody({ expiresInSec: 86_401 }))).toEqual([
      400,
      'validation_failed',
      ['expiresInSec'],
    ]);
    expect(await refused({ ...planBody(), summary: undefined, priority: 1 })).toEqual([
      400,
      'validation_failed',
      expect.arrayContaining(['summary', 'priority']),
    ]);

    // A step the device did not register: refused up front, naming the step.
    expect(
      await refused(planBody({ steps: [THREE_STEPS[1], { type: 'reboot', params: {}, description: 'x' }] })),
    ).toEqual([422, 'capability_missing', ['steps[1].type']]);

    // A customer is not a backend service: refused, whoever's session it is.
    const byCustomer = await propose(a, sessionId, planBody(), bearer(customerA.accessToken));
    expect([401, 403]).toContain(byCustomer.status);
    const unknown = await propose(a, randomUUID(), planBody());
    expect([unknown.status, unknown.body.code]).toEqual([404, 'session_not_found']);
    await request(`${a.url}/v1/sessions/${sessionId}/close`, {
      method: 'POST',
      authorization: bearer(customerA.accessToken),
    });
    const closed = await propose(a, sessionId, planBody());
    expect([closed.status, closed.body.code]).toEqual([409, 'session_closed']);
    const { rows } = await queryDatabase(
      cluster.stack.database.url,
      'select id from public.remediation_plans where session_id = $1',
      [sessionId],
    );
    expect(rows).toEqual([]);
  });

  it('runs a three-step plan strictly in order to completed, live on the portal, audited, in the session view', async () => {
    const { deviceId, sessionId, credentials } = await openSessionOfA();
    const agent = await deviceAgent(a, credentials);
    const portal = await cluster.sockets.connectPortal(b.url, customerA.accessToken);
    const bystander = await cluster.sockets.connectPortal(b.url, customerB.accessToken);
    const bystanderSaw = record<PlanResponse>(bystander, 'remediation:updated');
    const updates = record<PlanResponse>(portal, 'remediation:updated');
    const proposedEvent = nextEvent<PlanResponse>(
      portal,
      'remediation:updated',
      (plan) => plan.sessionId === sessionId,
    );

    const plan = await proposed(sessionId, { expiresInSec: 600 });

    expect(plan).toEqual({
      id: expect.any(String) as string,
      sessionId,
      deviceId,
      status: 'proposed',
      summary: 'Wi-Fi is wedged',
      rationale: 'wlan0 passes no traffic',
      risk: 'medium',
      steps: THREE_STEPS.map((step, index) => ({ ...step, index, commandId: null, status: 'pending' })),
      planHash: planHash(THREE_STEPS),
      proposedBy: 'service:planner',
      decidedBy: null,
      decidedAt: null,
      decisionReason: null,
      expiresAt: expect.any(String) as string,
      failure: null,
      createdAt: expect.any(String) as string,
      updatedAt: expect.any(String) as string,
      revision: 1,
    } satisfies PlanResponse);
    expect(Date.parse(plan.expiresAt) - Date.parse(plan.createdAt)).toBe(600_000);
    expect(await proposedEvent).toEqual(plan);

    const approved = await act(b, plan.id, 'approve', customerA.accessToken, { planHash: plan.planHash });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      status: 'executing',
      decidedBy: `customer:${customerA.customerId}`,
      steps: [{ status: 'issued' }, { status: 'pending' }, { status: 'pending' }],
    });

    const completed = await planUntil(plan.id, (read) => read.status === 'completed');
    const steps = await commandsOfPlan(plan.id);
    expect(steps.map((command) => [command.stepIndex, command.type, command.params, command.status])).toEqual(
      THREE_STEPS.map((step, index) => [index, step.type, step.params, 'succeeded']),
    );
    expect(new Set(steps.map((command) => command.issuedBy))).toEqual(
      new Set([`customer:${customerA.customerId}`]),
    );
    // What the device lived, in its order: each step arrived only after the one before had answered.
    expect(agent.seen.map((entry) => [entry.event, entry.commandId])).toEqual(
      steps.flatMap((command) => [
        ['command', command.id],
        ['result', command.id],
      ]),
    );
    expect(new Set(agent.deliveries)).toEqual(new Set(steps.map((command) => command.id)));
    for (const index of [1, 2]) {
      const answered = agent.seen[2 * index - 1]!;
      const arrived = agent.seen[2 * index]!;
      expect(arrived.at).toBeGreaterThanOrEqual(answered.at);
      expect(steps[index]!.createdAt.getTime()).toBeGreaterThanOrEqual(
        steps[index - 1]!.finishedAt!.getTime(),
      );
      // The step's end moved the plan on at once (the engine's onFinal), not a sweep: none is due yet.
      expect(arrived.at - answered.at).toBeLessThan(SWEEP_INTERVAL_MS);
    }

    expect(completed.steps.map((step) => step.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(completed.failure).toBeNull();
    await eventually(
      'the completion event',
      () => Promise.resolve(updates.map((u) => u.payload.status)),
      (seen) => seen.includes('completed'),
    );
    const revisions = updates.filter((u) => u.payload.id === plan.id).map((u) => u.payload.revision);
    expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
    expect(updates.map((u) => u.payload.status)).toEqual(
      expect.arrayContaining(['proposed', 'approved', 'executing', 'completed']),
    );
    expect(bystanderSaw).toEqual([]);

    const view = await request<SessionWithCommandsResponse>(`${a.url}/v1/sessions/${sessionId}`, {
      authorization: bearer(customerA.accessToken),
    });
    expect(view.body.plans).toEqual([completed]);
    const listed = await request<{ items: PlanResponse[] }>(
      `${b.url}/v1/sessions/${sessionId}/remediation-plans`,
      {
        authorization: service,
      },
    );
    expect(listed.body).toEqual({ items: [completed] });

    const { rows } = await queryDatabase<{ actor: string; action: string; details: Record<string, unknown> }>(
      cluster.stack.database.url,
      `select actor, action, details from public.audit_events
       where subject_type = 'remediation_plan' and subject_id = $1 order by id`,
      [plan.id],
    );
    expect(rows.map((row) => row.action)).toEqual([
      'remediation.proposed',
      'remediation.approved',
      'remediation.step_issued',
      'remediation.step_ended',
      'remediation.step_issued',
      'remediation.step_ended',
      'remediation.step_issued',
      'remediation.step_ended',
      'remediation.completed',
    ]);
    expect(rows[0]).toMatchObject({ actor: 'service:planner', details: { planHash: plan.planHash } });
    expect(rows[1]).toMatchObject({
      actor: `customer:${customerA.customerId}`,
      details: { planHash: plan.planHash, decidedAt: completed.decidedAt },
    });
    expect(rows.filter((row) => row.action === 'remediation.step_issued').map((row) => row.details)).toEqual(
      steps.map((command, index) => ({
        step: index,
        type: command.type,
        commandId: command.id,
        sessionId,
        deviceId,
      })),
    );
    expect(rows.filter((row) => row.action === 'remediation.step_ended').map((row) => row.details)).toEqual(
      steps.map((command, index) => ({
        step: index,
        type: command.type,
        commandId: command.id,
        sessionId,
        deviceId,
        status: 'succeeded',
        error: null,
      })),
    );
  });

  it('fails the plan naming step two when the reference agent fails it, and never sends step three', async () => {
    const { sessionId, credentials } = await openSessionOfA();
    const lines: string[] = [];
    const simulated = new SocketAgent({
      url: a.url,
      credentials,
      capabilities: THREE_STEPS.map((step) => step.type),
      behaviour: { ...DEFAULT_BEHAVIOUR, fail: new Set(['flush_dns']) },
      log: (line) => lines.push(line),
    });
    simulatedAgents.push(simulated);
    await simulated.start();
    await eventually(
      'the reference agent is online',
      () => cluster.getDevice(b, credentials.deviceId, customerA.accessToken),
      (read) => read.presence.state === 'online',
    );
    const plan = await proposed(sessionId);
    await act(b, plan.id, 'approve', customerA.accessToken, { planHash: plan.planHash });

    const failed = await planUntil(plan.id, (read) => read.status === 'failed');

    const message = 'the simulator fails every flush_dns (--fail flush_dns)';
    expect(failed.failure).toEqual({ step: 1, code: 'simulated_failure', message });
    expect(failed.steps.map((step) => step.status)).toEqual(['succeeded', 'failed', 'skipped']);
    expect(failed.steps[2]!.commandId).toBeNull();
    const steps = await commandsOfPlan(plan.id);
    expect(steps.map((command) => [command.type, command.status])).toEqual([
      ['restart_interface', 'succeeded'],
      ['flush_dns', 'failed'],
    ]);
    await eventually(
      'the agent reported the failure',
      () => Promise.resolve(lines),
      (seen) => seen.some((line) => line.includes(`command ${steps[1]!.id} (flush_dns) failed`)),
    );
    // Step three never reached the device: the agent ran the first two, and nothing else.
    expect(lines.filter((line) => line.endsWith(' accepted'))).toEqual(
      steps.map((command) => `${credentials.deviceId}: command ${command.id} (${command.type}) accepted`),
    );
    expect(lines.some((line) => line.includes('set_dns_servers'))).toBe(false);

    const { rows } = await queryDatabase<{ action: string; details: Record<string, unknown> }>(
      cluster.stack.database.url,
      `select action, details from public.audit_events
       where subject_type = 'remediation_plan' and subject_id = $1 order by id`,
      [plan.id],
    );
    expect(rows.map((row) => row.action)).toEqual([
      'remediation.proposed',
      'remediation.approved',
      'remediation.step_issued',
      'remediation.step_ended',
      'remediation.step_issued',
      'remediation.step_ended',
      'remediation.failed',
    ]);
    expect(rows[5]?.details).toEqual({
      sessionId,
      deviceId: credentials.deviceId,
      step: 1,
      type: 'flush_dns',
      commandId: steps[1]!.id,
      status: 'failed',
      error: { code: 'simulated_failure', message },
    });
    expect(rows[6]?.details).toEqual({ sessionId, deviceId: credentials.deviceId, failure: failed.failure });
  });

  it('approves only with the plan’s hash, only once, and dispatches once when two instances approve together', async () => {
    const { sessionId, credentials } = await openSessionOfA();
    const agent = await deviceAgent(b, credentials);
    const plan = await proposed(sessionId);

    const wrong = await act(a, plan.id, 'approve', customerA.accessToken, { planHash: 'a'.repeat(64) });
    expect([wrong.status, wrong.body.code]).toEqual([409, 'plan_hash_mismatch']);
    const malformed = await act(a, plan.id, 'approve', customerA.accessToken, { planHash: 'nope' });
    expect([malformed.status, malformed.body.errors?.[0]?.field]).toEqual([400, 'planHash']);

    const racing = await Promise.all(
      [a, b, a, b].map((instance) =>
        act(instance, plan.id, 'approve', customerA.accessToken, { planHash: plan.planHash }),
      ),
    );
    expect(racing.map((answer) => answer.status).sort()).toEqual([200, 409, 409, 409]);
    expect(racing.filter((answer) => answer.status === 409).map((answer) => answer.body.code)).toEqual([
      'plan_not_proposed',
      'plan_not_proposed',
      'plan_not_proposed',
    ]);
    const again = await act(b, plan.id, 'approve', customerA.accessToken, { planHash: plan.planHash });
    expect([again.status, again.body.code]).toEqual([409, 'plan_not_proposed']);
    await planUntil(plan.id, (read) => read.status === 'completed');
    const steps = await commandsOfPlan(plan.id);
    expect(steps.map((command) => command.stepIndex)).toEqual([0, 1, 2]);
    // At least once may deliver a step again, but one command per step reached the device.
    expect(agent.seen.filter((entry) => entry.event === 'command').map((entry) => entry.commandId)).toEqual(
      steps.map((command) => command.id),
    );
    expect(new Set(agent.deliveries)).toEqual(new Set(steps.map((command) => command.id)));
  });

  it('refuses to approve an expired plan, and sweeps undecided plans to expired', async () => {
    const { sessionId } = await openSessionOfA();
    const late = await proposed(sessionId);
    const swept = await proposed(sessionId, { expiresInSec: 60 });
    await queryDatabase(
      cluster.stack.database.url,
      "update public.remediation_plans set expires_at = now() - interval '1 second' where id = any($1::uuid[])",
      [[late.id, swept.id]],
    );

    const approve = await act(a, late.id, 'approve', customerA.accessToken, { planHash: late.planHash });

    expect([approve.status, approve.body.code]).toEqual([409, 'plan_expired']);
    await b.app.get(PlanExecutionService).sweep();
    const expired = await planUntil(swept.id, (read) => read.status === 'expired');
    expect(expired.decidedBy).toBeNull();
    expect((await readPlan(b, late.id)).body.status).toBe('expired');
    expect(await commandsOfPlan(late.id)).toEqual([]);
  });

  it('rejects with a reason, and cancels an executing plan together with its running step', async () => {
    const { sessionId } = await openSessionOfA();
    const toReject = await proposed(sessionId);
    const toCancel = await proposed(sessionId);

    const rejected = await act(b, toReject.id, 'reject', customerA.accessToken, {
      reason: 'Not during office hours',
    });
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({
      status: 'rejected',
      decisionReason: 'Not during office hours',
      decidedBy: `customer:${customerA.customerId}`,
    });
    const cancelRejected = await act(a, toReject.id, 'cancel', customerA.accessToken);
    expect([cancelRejected.status, cancelRejected.body.code]).toEqual([409, 'plan_not_cancellable']);

    await act(a, toCancel.id, 'approve', customerA.accessToken, { planHash: toCancel.planHash });
    const cancelled = await act(b, toCancel.id, 'cancel', customerA.accessToken);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled' });
    expect(cancelled.body.steps.map((step) => step.status)).toEqual(['cancelled', 'skipped', 'skipped']);
    const [step] = await commandsOfPlan(toCancel.id);
    expect(step?.status).toBe('cancelled');
    const twice = await act(a, toCancel.id, 'cancel', customerA.accessToken);
    expect([twice.status, twice.body.code]).toEqual([409, 'plan_not_cancellable']);
  });

  it("answers customer B 404 on every route of customer A's plans", async () => {
    const { sessionId } = await openSessionOfA();
    const plan = await proposed(sessionId);
    const intruder = customerB.accessToken;

    const answers = [
      await readPlan(b, plan.id, bearer(intruder)),
      await request<Problem>(`${b.url}/v1/sessions/${sessionId}/remediation-plans`, {
        authorization: bearer(intruder),
      }),
      await act(b, plan.id, 'approve', intruder, { planHash: plan.planHash }),
      await act(b, plan.id, 'reject', intruder, {}),
      await act(b, plan.id, 'cancel', intruder),
      await readPlan(b, randomUUID(), bearer(intruder)),
      await readPlan(b, 'not-a-plan', bearer(intruder)),
    ];

    expect(answers.map((answer) => [answer.status, answer.body.code])).toEqual([
      [404, 'remediation_plan_not_found'],
      [404, 'session_not_found'],
      [404, 'remediation_plan_not_found'],
      [404, 'remediation_plan_not_found'],
      [404, 'remediation_plan_not_found'],
      [404, 'remediation_plan_not_found'],
      [404, 'remediation_plan_not_found'],
    ]);
    expect((await readPlan(a, plan.id)).body).toEqual(plan);
    expect((await readPlan(a, plan.id, service)).status).toBe(200);
  });

  it('expires the proposed plans and cancels the executing one of a session that closes', async () => {
    const { sessionId } = await openSessionOfA();
    const waiting = await proposed(sessionId);
    const running = await proposed(sessionId);
    await act(a, running.id, 'approve', customerA.accessToken, { planHash: running.planHash });
    const [step] = await eventually(
      'step one',
      () => commandsOfPlan(running.id),
      (c) => c.length === 1,
    );

    const closed = await request(`${b.url}/v1/sessions/${sessionId}/close`, {
      method: 'POST',
      authorization: bearer(customerA.accessToken),
    });

    expect(closed.status).toBe(200);
    expect((await readPlan(a, waiting.id)).body.status).toBe('expired');
    const cancelled = (await readPlan(a, running.id)).body;
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.steps.map((s) => s.status)).toEqual(['cancelled', 'skipped', 'skipped']);
    expect((await a.app.get(CommandRepository).findById(step!.id))?.status).toBe('cancelled');
  });
});

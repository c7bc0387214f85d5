import { randomUUID } from 'node:crypto';
import { type Socket } from 'socket.io-client';
import { type CommandResponse } from '../../src/sessions/commands/dto/command.response';
import { CommandDelivery } from '../../src/sessions/commands/delivery/command-delivery';
import { eventually } from '../support/eventually';
import { basic, type GatewayInstance, request } from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { ask, disconnection, nextEvent, record } from '../support/socket-clients';
import {
  actAs,
  type Credentials,
  issue,
  issueExpiringIn,
  openSession,
  readCommand,
  register,
  SHORT_CLOCKS,
  succeeding,
} from './command-fixtures';

interface Problem {
  status: number;
  code: string;
}

/**
 * The delivery engine across three instances (issue 11 items 5–7): real Redis, real PostgREST and
 * PostgreSQL, real socket.io-client sockets over TCP. Clocks are short: ack timeout 1 s, two attempts.
 */
describe('command delivery across three instances', () => {
  let cluster: RealtimeCluster;
  let a: GatewayInstance;
  let b: GatewayInstance;
  let c: GatewayInstance;
  let customer: { accessToken: string; customerId: string };

  beforeAll(async () => {
    cluster = await startRealtimeCluster('commands-delivery', 3, { ...SHORT_CLOCKS, LOG_LEVEL: 'silent' });
    [a, b, c] = cluster.instances as [GatewayInstance, GatewayInstance, GatewayInstance];
    customer = await cluster.stack.mintCustomerToken();
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  async function device(): Promise<{ credentials: Credentials; sessionId: string }> {
    const { credentials } = await cluster.createDevice(customer.accessToken);
    await register(a, credentials);
    return { credentials, sessionId: await openSession(a, credentials.deviceId, customer.accessToken) };
  }

  function connect(instance: GatewayInstance, credentials: Credentials): Promise<Socket> {
    return cluster.sockets.connectAgent(instance.url, credentials);
  }

  async function finalOf(instance: GatewayInstance, id: string, status: string): Promise<void> {
    await eventually(
      `command ${id} is ${status}`,
      () => readCommand(instance, id),
      (command) => command?.status === status,
    );
  }

  it('delivers a command issued on B to the device on A, and a portal on C sees every revision up to succeeded', async () => {
    const { credentials, sessionId } = await device();
    const portal = await cluster.sockets.connectPortal(c.url, customer.accessToken);
    const updates = record<CommandResponse>(portal, 'command:updated');
    const agent = await connect(a, credentials);
    const received = actAs(agent, succeeding);

    const command = await issue(b, sessionId, customer.accessToken);

    const mine = () => updates.map(({ payload }) => payload).filter(({ id }) => id === command.id);
    await eventually(
      'the portal on C sees it succeed',
      () => Promise.resolve(mine()),
      (seen) => seen.some(({ status }) => status === 'succeeded'),
    );
    expect(received.map(({ id }) => id)).toEqual([command.id]);
    const seen = mine();
    expect(seen.map(({ status }) => status)).toEqual(['queued', 'sent', 'delivered', 'running', 'succeeded']);
    expect(seen.map(({ revision }) => revision)).toEqual([1, 2, 3, 4, 5]);
    expect(seen.at(-1)).toMatchObject({
      output: { ran: command.id, attempt: 1 },
      progress: { pct: 50 },
      attempt: 1,
    });
    const stored = await readCommand(c, command.id);
    expect(stored?.deliveredAt).not.toBeNull();
    expect(stored?.finishedAt).not.toBeNull();
  });

  it('keeps a command for an offline device queued, counts it in heartbeats, and runs it when the device connects to any instance', async () => {
    const { credentials, sessionId } = await device();
    const first = await issue(a, sessionId, customer.accessToken, { type: 'arp_table' });
    const second = await issue(b, sessionId, customer.accessToken, { type: 'ping' });

    const beat = await request<{ pendingCommands: number }>(`${b.url}/v1/agent/heartbeat`, {
      method: 'POST',
      authorization: basic(credentials.deviceId, credentials.secret),
      body: { uptimeSec: 10 },
    });
    expect(beat.body.pendingCommands).toBe(2);
    // Past more than one ack timeout, the offline device's commands are still waiting, untouched.
    await eventually(
      'the ack clock has had its chance',
      () => readCommand(a, first.id),
      () => true,
      {
        timeoutMs: 100,
      },
    );
    expect(await readCommand(a, first.id)).toMatchObject({ status: 'queued', attempt: 1, revision: 1 });

    const agent = await connect(c, credentials);
    const received = actAs(agent, succeeding);
    await finalOf(a, second.id, 'succeeded');
    await finalOf(a, first.id, 'succeeded');
    // Oldest first, one at a time (COMMAND_MAX_IN_FLIGHT_PER_DEVICE = 1).
    expect(received.map(({ id }) => id)).toEqual([first.id, second.id]);
    const after = await request<{ pendingCommands: number }>(`${a.url}/v1/agent/heartbeat`, {
      method: 'POST',
      authorization: basic(credentials.deviceId, credentials.secret),
      body: { uptimeSec: 11 },
    });
    expect(after.body.pendingCommands).toBe(0);
  });

  it('redelivers a command the agent never acks, then fails it undeliverable', async () => {
    const { credentials, sessionId } = await device();
    const agent = await connect(b, credentials);
    const received = actAs(agent, () => undefined);
    const command = await issue(a, sessionId, customer.accessToken);

    await finalOf(c, command.id, 'failed');
    expect(await readCommand(c, command.id)).toMatchObject({
      attempt: 2,
      error: { code: 'undeliverable' },
      deliveredAt: null,
    });
    expect(received.map(({ id, attempt }) => [id, attempt])).toEqual([
      [command.id, 1],
      [command.id, 2],
    ]);
  });

  it('times out a command the agent acks and never answers', async () => {
    const { credentials, sessionId } = await device();
    const agent = await connect(a, credentials);
    actAs(agent, (_command, ack) => {
      ack({ accepted: true });
    });
    const command = await issue(b, sessionId, customer.accessToken, { timeoutSec: 1 });
    await finalOf(c, command.id, 'timed_out');
    expect(await readCommand(c, command.id)).toMatchObject({ attempt: 1, error: null });
  });

  it('expires a command never delivered, and fails one the agent refuses with its reason', async () => {
    const { credentials, sessionId } = await device();
    const never = await issueExpiringIn(a, sessionId, customer.customerId, 1);
    await finalOf(b, never.id, 'expired');

    const agent = await connect(c, credentials);
    actAs(agent, (_command, ack) => {
      ack({ accepted: false, reason: 'busy upgrading' });
    });
    const refused = await issue(a, sessionId, customer.accessToken);
    await finalOf(b, refused.id, 'failed');
    expect(await readCommand(b, refused.id)).toMatchObject({
      error: { code: 'refused', message: 'busy upgrading' },
    });
  });

  it('answers results at least once: the same again is a no-op, another is 409, a foreign command 404, an over-size output 413', async () => {
    const { credentials, sessionId } = await device();
    const other = await device();
    const agent = await connect(a, credentials);
    actAs(agent, (_command, ack) => {
      ack({ accepted: true });
    });
    const command = await issue(b, sessionId, customer.accessToken);
    await finalOf(a, command.id, 'delivered');

    const over = { commandId: command.id, status: 'succeeded', output: { blob: 'x'.repeat(262_144) } };
    const tooBig = await ask<{ error: Problem }>(agent, 'command:result', over);
    expect(tooBig.error).toMatchObject({ status: 413, code: 'command_output_too_large' });
    expect(agent.connected).toBe(true);

    const result = { commandId: command.id, status: 'succeeded', output: { interfaces: [] } };
    const first = await ask<{ ok: boolean; command: CommandResponse }>(agent, 'command:result', result);
    expect(first).toMatchObject({ ok: true, command: { status: 'succeeded', revision: 4 } });
    const again = await ask<{ ok: boolean; command: CommandResponse }>(agent, 'command:result', result);
    expect(again).toEqual(first);

    const auth = basic(credentials.deviceId, credentials.secret);
    const overHttp = await request<CommandResponse>(`${c.url}/v1/agent/commands/${command.id}/result`, {
      method: 'POST',
      authorization: auth,
      body: { status: 'succeeded', output: { interfaces: [] } },
    });
    expect(overHttp).toMatchObject({ status: 200, body: first.command });

    const different = await ask<{ error: Problem }>(agent, 'command:result', { ...result, status: 'failed' });
    expect(different.error).toMatchObject({ status: 409, code: 'command_result_conflict' });

    const foreign = await request<Problem>(`${c.url}/v1/agent/commands/${command.id}/result`, {
      method: 'POST',
      authorization: basic(other.credentials.deviceId, other.credentials.secret),
      body: { status: 'succeeded' },
    });
    expect(foreign.status).toBe(404);
    const unknown = await request<Problem>(`${c.url}/v1/agent/commands/${randomUUID()}/ack`, {
      method: 'POST',
      authorization: auth,
    });
    expect(unknown.status).toBe(404);

    const overSizeHttp = await request<Problem>(`${b.url}/v1/agent/commands/${command.id}/result`, {
      method: 'POST',
      authorization: auth,
      body: { status: over.status, output: over.output },
    });
    expect(overSizeHttp.status).toBe(413);
    expect(overSizeHttp.contentType).toContain('problem+json');
    const farOver = await request<Problem>(`${b.url}/v1/agent/commands/${command.id}/result`, {
      method: 'POST',
      authorization: auth,
      body: { status: 'succeeded', output: { blob: 'x'.repeat(400_000) } },
    });
    expect(farOver.status).toBe(413);
    expect(farOver.contentType).toContain('problem+json');
    expect(await readCommand(a, command.id)).toMatchObject({ status: 'succeeded', revision: 4 });
  });

  it('runs the same lifecycle for an HTTP long-poll agent: a poll on A returns a command issued on B, then ack, progress and result', async () => {
    const { credentials, sessionId } = await device();
    const auth = basic(credentials.deviceId, credentials.secret);
    const portal = await cluster.sockets.connectPortal(c.url, customer.accessToken);
    const updates = record<CommandResponse>(portal, 'command:updated');

    const empty = await request<{ items: CommandResponse[] }>(`${a.url}/v1/agent/commands?waitSec=0`, {
      authorization: auth,
    });
    expect(empty).toMatchObject({ status: 200, body: { items: [] } });
    const waitedFrom = Date.now();
    const waited = await request<{ items: CommandResponse[] }>(`${a.url}/v1/agent/commands?waitSec=1`, {
      authorization: auth,
    });
    expect(waited).toMatchObject({ status: 200, body: { items: [] } });
    expect(Date.now() - waitedFrom).toBeGreaterThanOrEqual(950);

    const started = Date.now();
    const polling = request<{ items: CommandResponse[] }>(`${a.url}/v1/agent/commands?waitSec=20`, {
      authorization: auth,
    });
    const command = await issue(b, sessionId, customer.accessToken);
    const polled = await polling;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(polled.status).toBe(200);
    expect(polled.body.items).toEqual([expect.objectContaining({ id: command.id, status: 'sent' })]);

    const base = `${c.url}/v1/agent/commands/${command.id}`;
    expect((await request(`${base}/ack`, { method: 'POST', authorization: auth })).status).toBe(204);
    expect((await request(`${base}/ack`, { method: 'POST', authorization: auth })).status).toBe(204);
    const progress = await request(`${base}/progress`, {
      method: 'POST',
      authorization: auth,
      body: { message: 'halfway', pct: 50 },
    });
    expect(progress.status).toBe(204);
    const finished = await request<CommandResponse>(`${base}/result`, {
      method: 'POST',
      authorization: auth,
      body: { status: 'failed', error: { code: 'no_route', message: 'no route to host' } },
    });
    expect(finished).toMatchObject({
      status: 200,
      body: { status: 'failed', error: { code: 'no_route' }, progress: { message: 'halfway', pct: 50 } },
    });
    await eventually(
      'the portal sees it fail',
      () => Promise.resolve(updates.length),
      () => updates.some(({ payload }) => payload.id === command.id && payload.status === 'failed'),
    );
    expect(
      updates.filter(({ payload }) => payload.id === command.id).map(({ payload }) => payload.status),
    ).toEqual(['queued', 'sent', 'delivered', 'running', 'failed']);

    const refused = await request<Problem>(`${a.url}/v1/agent/commands?waitSec=31`, { authorization: auth });
    expect(refused.status).toBe(400);
  });

  it('counts a result that arrives before the ack as the ack, and cancels a command on the device', async () => {
    const { credentials, sessionId } = await device();
    const agent = await connect(b, credentials);
    const cancels = record<{ commandId: string }>(agent, 'command:cancel');
    const held: CommandResponse[] = [];
    actAs(agent, (command) => {
      held.push(command);
    });
    const early = await issue(a, sessionId, customer.accessToken);
    await eventually(
      'the agent has it',
      () => Promise.resolve(held.length),
      (count) => count === 1,
    );
    const answer = await ask<{ ok: boolean; command: CommandResponse }>(agent, 'command:result', {
      commandId: early.id,
      status: 'succeeded',
      output: {},
    });
    expect(answer.command).toMatchObject({ status: 'succeeded', revision: 4 });
    expect(answer.command.deliveredAt).not.toBeNull();

    const next = await issue(c, sessionId, customer.accessToken);
    await eventually(
      'the agent has the next',
      () => Promise.resolve(held.length),
      (count) => count === 2,
    );
    const cancelled = await a.app.get(CommandDelivery).cancel(next.id);
    expect(cancelled).toMatchObject({ status: 'cancelled' });
    await eventually(
      'the device is told',
      () => Promise.resolve(cancels),
      (seen) => seen.some(({ payload }) => payload.commandId === next.id),
    );
    expect(await a.app.get(CommandDelivery).cancel(next.id)).toBeNull();
    const late = await ask<{ error: Problem }>(agent, 'command:result', {
      commandId: next.id,
      status: 'succeeded',
    });
    expect(late.error).toMatchObject({ status: 409 });
  });

  it('delivers to the newest socket after a takeover on the same instance, whatever the old one does after', async () => {
    const { credentials, sessionId } = await device();
    const older = await connect(a, credentials);
    const toOlder = actAs(older, succeeding);
    const replaced = nextEvent<{ reason: string }>(older, 'connection:closing');
    const closed = disconnection(older);
    const newer = await connect(a, credentials);
    const toNewer = actAs(newer, succeeding);
    expect(await replaced).toEqual({ reason: 'replaced' });
    expect(await closed).toBe('io server disconnect');

    const command = await issue(b, sessionId, customer.accessToken);
    await finalOf(c, command.id, 'succeeded');
    expect(toNewer.map(({ id }) => id)).toEqual([command.id]);
    expect(toOlder).toEqual([]);
  });
});

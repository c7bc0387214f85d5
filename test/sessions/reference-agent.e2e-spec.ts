import {
  COMMAND_CATALOGUE,
  COMMAND_TYPES,
  type CommandType,
} from '../../src/sessions/commands/command-catalogue';
import { type CommandResponse } from '../../src/sessions/commands/dto/command.response';
import { DEFAULT_BEHAVIOUR, type SimBehaviour } from '../../src/cli/agent-sim/command-runner';
import { type AgentOptions } from '../../src/cli/agent-sim/gateway-client';
import { HttpAgent } from '../../src/cli/agent-sim/http-agent';
import { SocketAgent } from '../../src/cli/agent-sim/socket-agent';
import { eventually } from '../support/eventually';
import { bearer, request } from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';

/** Params for every diagnostic type, as a portal would send them. */
const DIAGNOSTIC_PARAMS: Partial<Record<CommandType, Record<string, unknown>>> = {
  ping: { host: 'example.com', count: 5 },
  traceroute: { host: 'example.com', maxHops: 6 },
  dns_lookup: { name: 'example.com', recordType: 'MX' },
  http_check: { url: 'https://example.com/status/204', method: 'GET' },
  port_check: { host: 'example.com', port: 443 },
  speed_test: {},
  interface_status: {},
  wifi_scan: {},
  arp_table: {},
};
const DIAGNOSTICS = COMMAND_TYPES.filter((type) => COMMAND_CATALOGUE[type].risk === 'diagnostic');

/**
 * The reference agent (`npm run agent:sim`, issue 11 item 11) against two real gateway instances on
 * real Redis and PostgREST/PostgreSQL: each simulated device connects to instance A (socket or HTTP long
 * poll) while its commands are issued on instance B, and every flag leads its command to the final state
 * the gateway's clocks give it.
 */
describe('the reference agent', () => {
  let cluster: RealtimeCluster;
  let token: string;
  const agents: (SocketAgent | HttpAgent)[] = [];
  const lines: string[] = [];

  beforeAll(async () => {
    cluster = await startRealtimeCluster('reference-agent', 2, {
      COMMAND_ACK_TIMEOUT_SEC: '1',
      COMMAND_MAX_ATTEMPTS: '2',
      COMMAND_SWEEP_INTERVAL_MS: '100',
    });
    token = (await cluster.stack.mintCustomerToken()).accessToken;
  }, 90_000);

  afterAll(async () => {
    for (const agent of agents) agent.stop();
    await cluster?.close();
  });

  /** A new device of the customer with a simulated agent on instance A, and an open session on it. */
  async function deviceWithAgent(
    transport: 'socket' | 'http',
    behaviour: Partial<SimBehaviour> = {},
    extra: Partial<AgentOptions> = {},
  ) {
    const [a] = cluster.instances;
    const { credentials } = await cluster.createDevice(token);
    const options: AgentOptions = {
      url: a!.url,
      credentials,
      capabilities: COMMAND_TYPES,
      behaviour: { ...DEFAULT_BEHAVIOUR, ...behaviour },
      log: (line) => lines.push(line),
      ...extra,
    };
    const agent = transport === 'socket' ? new SocketAgent(options) : new HttpAgent(options);
    agents.push(agent);
    await agent.start();
    await eventually(
      'the simulated device is online',
      () => cluster.getDevice(cluster.instances[1]!, credentials.deviceId, token),
      (device) => device.presence.state === 'online',
    );
    const opened = await request<{ id: string }>(
      `${cluster.instances[1]!.url}/v1/devices/${credentials.deviceId}/sessions`,
      {
        method: 'POST',
        authorization: bearer(token),
        body: {},
      },
    );
    expect(opened.status).toBe(201);
    return { sessionId: opened.body.id, agent };
  }

  /** Issues a command on instance B, waiting up to waitSec for it to end. */
  async function issue(
    sessionId: string,
    type: CommandType,
    params: Record<string, unknown>,
    extra: { timeoutSec?: number; waitSec?: number } = {},
  ) {
    const response = await request<CommandResponse>(
      `${cluster.instances[1]!.url}/v1/sessions/${sessionId}/commands?waitSec=${extra.waitSec ?? 10}`,
      {
        method: 'POST',
        authorization: bearer(token),
        body: { type, params, ...(extra.timeoutSec === undefined ? {} : { timeoutSec: extra.timeoutSec }) },
      },
    );
    expect([200, 202]).toContain(response.status);
    return response.body;
  }

  const read = async (commandId: string) =>
    (
      await request<CommandResponse>(`${cluster.instances[0]!.url}/v1/commands/${commandId}`, {
        authorization: bearer(token),
      })
    ).body;

  const final = (commandId: string, timeoutMs = 15_000) =>
    eventually(
      `command ${commandId} is final`,
      () => read(commandId),
      (command) => !['queued', 'sent', 'delivered', 'running'].includes(command.status),
      { timeoutMs },
    );

  it.each(['socket', 'http'] as const)(
    'runs every diagnostic over the %s, with output of its type',
    async (transport) => {
      const { sessionId } = await deviceWithAgent(transport);
      for (const type of DIAGNOSTICS) {
        const command = await issue(sessionId, type, DIAGNOSTIC_PARAMS[type]!);
        expect({ type, status: command.status }).toEqual({ type, status: 'succeeded' });
        expect(command.output).not.toBeNull();
      }
      const ping = await issue(sessionId, 'ping', { host: 'example.com', count: 7 });
      expect(ping.output).toMatchObject({ host: 'example.com', transmitted: 7 });
      expect(ping.startedAt).not.toBeNull();
    },
    60_000,
  );

  it('--slow reports progress halfway, and a cancelled command reports nothing further', async () => {
    const { sessionId } = await deviceWithAgent('socket', { slowMs: 4000 });
    const command = await issue(sessionId, 'speed_test', {}, { waitSec: 0 });
    await eventually(
      'the command is halfway',
      () => read(command.id),
      (seen) => seen.progress?.pct === 50,
    );
    const cancelled = await request<CommandResponse>(
      `${cluster.instances[1]!.url}/v1/commands/${command.id}/cancel`,
      {
        method: 'POST',
        authorization: bearer(token),
      },
    );
    expect(cancelled.body.status).toBe('cancelled');
    await eventually(
      'the agent stopped it',
      () => Promise.resolve(lines),
      (seen) => seen.some((line) => line.includes(`command ${command.id} (speed_test) cancelled`)),
    );
    expect(lines.filter((line) => line.includes(command.id) && line.includes('reported'))).toEqual([]);
  }, 30_000);

  it('--fail <type> ends that type failed with simulated_failure', async () => {
    const { sessionId } = await deviceWithAgent('http', { fail: new Set(['port_check']) });
    const command = await issue(sessionId, 'port_check', { host: 'example.com', port: 22 });
    expect(command.status).toBe('failed');
    expect(command.error).toEqual({
      code: 'simulated_failure',
      message: 'the simulator fails every port_check (--fail port_check)',
    });
  }, 30_000);

  it('--refuse <type> ends that type failed with the agent reason', async () => {
    const { sessionId } = await deviceWithAgent('socket', { refuse: new Set(['wifi_scan']) });
    const command = await final((await issue(sessionId, 'wifi_scan', {})).id);
    expect(command.status).toBe('failed');
    expect(command.error?.message).toContain('the simulator refuses wifi_scan');
  }, 30_000);

  it('--drop-acks: the command is delivered again, then ends undeliverable', async () => {
    const { sessionId } = await deviceWithAgent('socket', { dropAcks: true });
    const command = await final((await issue(sessionId, 'arp_table', {}, { waitSec: 0 })).id);
    expect(command).toMatchObject({ status: 'failed', attempt: 2, error: { code: 'undeliverable' } });
  }, 30_000);

  it('--no-answer: the command times out', async () => {
    const { sessionId } = await deviceWithAgent('http', { noAnswer: true });
    const command = await final(
      (await issue(sessionId, 'ping', { host: 'example.com', count: 1 }, { timeoutSec: 1, waitSec: 0 })).id,
    );
    expect(command.status).toBe('timed_out');
  }, 30_000);

  it('--disconnect-mid-command: the result arrives after the socket comes back', async () => {
    const { sessionId } = await deviceWithAgent('socket', { slowMs: 500 }, { disconnectMidCommand: true });
    const command = await final(
      (await issue(sessionId, 'traceroute', { host: 'example.com', maxHops: 3 }, { waitSec: 0 })).id,
    );
    expect(command.status).toBe('succeeded');
    expect((command.output as { hops: unknown[] }).hops.length).toBeLessThanOrEqual(3);
    expect(lines.some((line) => line.includes('disconnecting mid-command'))).toBe(true);
  }, 30_000);
});

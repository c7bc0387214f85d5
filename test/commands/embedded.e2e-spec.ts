import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createDevToken } from '../../src/auth/dev-token';
import { type AppConfig, loadConfig } from '../../src/config/app-config';
import { type CommandResponse } from '../../src/sessions/commands/dto/command.response';
import { eventually } from '../support/eventually';
import { basic, type GatewayInstance, request, startGatewayInstance } from '../support/gateway-instance';
import { makeDataDir } from '../support/in-process-app';
import { record, SocketClients } from '../support/socket-clients';
import { actAs, deviceWithSession, issue, readCommand, SHORT_CLOCKS, succeeding } from './command-fixtures';

/**
 * Embedded + memory (the defaults) runs the same engine in one process (issue 11 item 6): the clocks
 * live in the process, so a restart loses them, and the restarted gateway rebuilds them from PGlite.
 */
describe('commands on the embedded defaults', () => {
  const dataDir = makeDataDir();
  const sockets = new SocketClients();
  const customerId = randomUUID();
  let config: AppConfig;
  let gateway: GatewayInstance | undefined;
  let token: string;

  beforeAll(async () => {
    config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...SHORT_CLOCKS });
    gateway = await startGatewayInstance(config);
    token = await createDevToken(dataDir, { sub: customerId });
  }, 60_000);

  afterAll(async () => {
    sockets.closeAll();
    await gateway?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers to a socket agent and tells the portal every revision', async () => {
    const instance = gateway!;
    const { credentials, sessionId } = await deviceWithSession(instance, token);
    const portal = await sockets.connectPortal(instance.url, token);
    const updates = record<CommandResponse>(portal, 'command:updated');
    actAs(await sockets.connectAgent(instance.url, credentials), succeeding);

    const command = await issue(instance, sessionId, token);
    await eventually(
      'the portal sees it succeed',
      () => Promise.resolve(updates),
      (seen) => seen.some(({ payload }) => payload.id === command.id && payload.status === 'succeeded'),
    );
    expect(
      updates.filter(({ payload }) => payload.id === command.id).map(({ payload }) => payload.revision),
    ).toEqual([1, 2, 3, 4, 5]);
  });

  it('rebuilds the clocks after a restart: a command on the device times out, a queued one runs on reconnect', async () => {
    const first = gateway!;
    const busy = await deviceWithSession(first, token);
    const offline = await deviceWithSession(first, token);
    const agent = await sockets.connectAgent(first.url, busy.credentials);
    actAs(agent, (_command, ack) => {
      ack({ accepted: true });
    });
    const held = await issue(first, busy.sessionId, token, { timeoutSec: 2 });
    const queued = await issue(first, offline.sessionId, token);
    await eventually(
      'the held command is on the device',
      () => readCommand(first, held.id),
      (read) => read?.status === 'delivered',
    );

    agent.disconnect();
    await first.close();
    gateway = undefined;
    const second = await startGatewayInstance(config);
    gateway = second;

    await eventually(
      'the execution clock fires after the restart',
      () => readCommand(second, held.id),
      (read) => read?.status === 'timed_out',
      { timeoutMs: 15_000 },
    );
    actAs(await sockets.connectAgent(second.url, offline.credentials), succeeding);
    await eventually(
      'the queued command runs',
      () => readCommand(second, queued.id),
      (read) => read?.status === 'succeeded',
    );
  });

  it('answers a waiting long poll with no commands when the gateway stops, without holding the stop', async () => {
    const instance = gateway!;
    const { credentials } = await deviceWithSession(instance, token);
    const polling = request<{ items: unknown[] }>(`${instance.url}/v1/agent/commands?waitSec=30`, {
      authorization: basic(credentials.deviceId, credentials.secret),
    });
    await eventually(
      'the poll waits on the instance',
      async () => (await fetch(`${instance.url}/metrics`)).text(),
      (text) => /^agent_command_polls_waiting 1$/m.test(text),
    );
    const stopping = Date.now();
    await instance.close();
    gateway = undefined;
    expect(await polling).toMatchObject({ status: 200, body: { items: [] } });
    expect(Date.now() - stopping).toBeLessThan(10_000);
  });
});

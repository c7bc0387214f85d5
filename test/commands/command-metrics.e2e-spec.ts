import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createDevToken } from '../../src/auth/dev-token';
import { loadConfig } from '../../src/config/app-config';
import { eventually } from '../support/eventually';
import { type GatewayInstance, startGatewayInstance } from '../support/gateway-instance';
import { makeDataDir } from '../support/in-process-app';
import { SocketClients } from '../support/socket-clients';
import { actAs, deviceWithSession, issue, readCommand, SHORT_CLOCKS, succeeding } from './command-fixtures';

/** One sample of the gateway's /metrics, by its series as written there (`name{labels}`). */
async function scrape(instance: GatewayInstance): Promise<Map<string, number>> {
  const text = await (await fetch(`${instance.url}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/**
 * The command metrics operators watch (issue 11 item 10), each scraped after the event that moves it:
 * final statuses by type, time to the final status, the queue's depth, redeliveries. On the embedded
 * defaults, where one process holds every series.
 */
describe('command metrics', () => {
  const dataDir = makeDataDir();
  const sockets = new SocketClients();
  let gateway: GatewayInstance;
  let token: string;

  beforeAll(async () => {
    gateway = await startGatewayInstance(
      loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...SHORT_CLOCKS }),
    );
    token = await createDevToken(dataDir, { sub: randomUUID() });
  }, 60_000);

  afterAll(async () => {
    sockets.closeAll();
    await gateway.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts a finished command by type and status, and observes its time to the final status', async () => {
    const before = await scrape(gateway);
    const { credentials, sessionId } = await deviceWithSession(gateway, token);
    actAs(await sockets.connectAgent(gateway.url, credentials), succeeding);

    const command = await issue(gateway, sessionId, token, { type: 'arp_table' });
    await eventually(
      'the command succeeds',
      () => readCommand(gateway, command.id),
      (read) => read?.status === 'succeeded',
    );

    const after = await scrape(gateway);
    const finished = 'commands_finished_total{type="arp_table",status="succeeded"}';
    expect((after.get(finished) ?? 0) - (before.get(finished) ?? 0)).toBe(1);
    const observed = 'command_duration_seconds_count{type="arp_table"}';
    expect((after.get(observed) ?? 0) - (before.get(observed) ?? 0)).toBe(1);
  });

  it('shows the queue of an offline device in its depth, and a command never acknowledged as a redelivery', async () => {
    const offline = await deviceWithSession(gateway, token);
    await issue(gateway, offline.sessionId, token);
    await issue(gateway, offline.sessionId, token);
    await eventually(
      'both commands are in the queue depth',
      () => scrape(gateway),
      (samples) => (samples.get('command_queue_depth') ?? 0) >= 2,
    );

    const silent = await deviceWithSession(gateway, token);
    const received = actAs(await sockets.connectAgent(gateway.url, silent.credentials), () => undefined);
    const before = await scrape(gateway);
    const command = await issue(gateway, silent.sessionId, token, { type: 'ping' });
    await eventually(
      'the unacknowledged command is sent again',
      () => Promise.resolve(received),
      (seen) => seen.filter((each) => each.id === command.id).length >= 2,
    );

    const redelivered = 'command_redeliveries_total{type="ping"}';
    expect(
      ((await scrape(gateway)).get(redelivered) ?? 0) - (before.get(redelivered) ?? 0),
    ).toBeGreaterThanOrEqual(1);
  });
});

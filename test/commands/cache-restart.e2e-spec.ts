import { type CommandRecord } from '../../src/sessions/commands/command';
import { eventually } from '../support/eventually';
import { findFreePort } from '../support/free-port';
import { basic, type GatewayInstance, request } from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { ThrowawayRedis } from '../support/throwaway-redis';
import {
  actAs,
  type Credentials,
  issue,
  openSession,
  readCommand,
  register,
  SHORT_CLOCKS,
  succeeding,
} from './command-fixtures';

/**
 * The clocks live in Redis: when Redis restarts empty mid-run, nothing is lost or stuck (issue 11, done
 * when). The instances find the loss, one rebuilds every clock and queue count from the database, and
 * each command still ends as its clocks and its agent say. Two instances on a Redis of this file's own.
 */
describe('commands when Redis restarts empty', () => {
  let redis: ThrowawayRedis;
  let cluster: RealtimeCluster;
  let a: GatewayInstance;
  let b: GatewayInstance;
  let customer: { accessToken: string; customerId: string };

  beforeAll(async () => {
    redis = new ThrowawayRedis(await findFreePort());
    await redis.start();
    cluster = await startRealtimeCluster('cmd-cache-restart', 2, {
      ...SHORT_CLOCKS,
      COMMAND_ACK_TIMEOUT_SEC: '3',
      REDIS_URL: redis.url,
      REDIS_RECONNECT_MAX_DELAY_MS: '100',
      REDIS_COMMAND_TIMEOUT_MS: '500',
      LOG_LEVEL: 'silent',
    });
    [a, b] = cluster.instances as [GatewayInstance, GatewayInstance];
    customer = await cluster.stack.mintCustomerToken();
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
    await redis?.stop();
  });

  async function device(): Promise<{ credentials: Credentials; sessionId: string }> {
    const { credentials } = await cluster.createDevice(customer.accessToken);
    await register(a, credentials);
    return { credentials, sessionId: await openSession(a, credentials.deviceId, customer.accessToken) };
  }

  function status(id: string, expected: string, timeoutMs = 15_000): Promise<CommandRecord | null> {
    return eventually(
      `${id} is ${expected}`,
      () => readCommand(a, id),
      (read) => read?.status === expected,
      {
        timeoutMs,
      },
    );
  }

  function pending(credentials: Credentials): Promise<number> {
    return request<{ pendingCommands: number }>(`${b.url}/v1/agent/heartbeat`, {
      method: 'POST',
      authorization: basic(credentials.deviceId, credentials.secret),
      body: { uptimeSec: 1 },
    }).then((response) => response.body.pendingCommands);
  }

  it('rebuilds the clocks and queue counts, so that every command still ends', async () => {
    const holder = await device();
    const offline = await device();
    const forgetful = await device();

    const holding = await cluster.sockets.connectAgent(a.url, holder.credentials);
    actAs(holding, (_command, ack) => {
      ack({ accepted: true });
    });
    const forgetting = await cluster.sockets.connectAgent(b.url, forgetful.credentials);
    // Its first delivery is lost on the way; it runs the second.
    actAs(forgetting, (command, ack, socket) => {
      if (command.attempt > 1) succeeding(command, ack, socket);
    });

    const held = await issue(b, holder.sessionId, customer.accessToken, { timeoutSec: 5 });
    const queued = await issue(a, offline.sessionId, customer.accessToken);
    const unacked = await issue(a, forgetful.sessionId, customer.accessToken);
    await status(held.id, 'delivered');
    await status(unacked.id, 'sent');
    expect(await pending(offline.credentials)).toBe(1);

    await redis.kill();
    await redis.start();
    await eventually(
      'both instances are ready again',
      () =>
        Promise.all([a, b].map(async (instance) => (await request(`${instance.url}/health/ready`)).status)),
      (statuses) => statuses.every((code) => code === 200),
      { timeoutMs: 15_000, intervalMs: 100 },
    );

    // The queue count lived in Redis: rebuilt from the database.
    await eventually(
      "the offline device's count is rebuilt",
      () => pending(offline.credentials),
      (count) => count === 1,
    );
    // Execution clock, armed before the restart, fired after it.
    expect(await status(held.id, 'timed_out')).toMatchObject({ attempt: 1 });
    // Ack clock: put back in the queue and delivered again to the same socket.
    expect(await status(unacked.id, 'succeeded')).toMatchObject({ attempt: 2 });
    // The queued one goes out when its device connects, and a new command runs as before.
    const late = await cluster.sockets.connectAgent(b.url, offline.credentials);
    actAs(late, succeeding);
    await status(queued.id, 'succeeded');
    const after = await issue(a, offline.sessionId, customer.accessToken);
    await status(after.id, 'succeeded');
    expect(await pending(offline.credentials)).toBe(0);
  });
});

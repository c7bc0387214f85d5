import { type Socket } from 'socket.io-client';
import { AppConfig } from '../../src/config/app-config';
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
import { type GatewayInstance } from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { disconnection, record } from '../support/socket-clients';
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

const FINAL = ['succeeded', 'failed', 'timed_out', 'expired', 'cancelled'];

/**
 * An instance SIGKILLed with commands in flight (issue 11, done when): a gateway child process holds the
 * agents' sockets; it dies with a command delivered and held, one sent and never acked, and one queued
 * behind a held one. The agents reconnect to the surviving instance, and every command reaches exactly
 * one final state, with one final `command:updated` each on a portal of the survivor.
 */
describe('commands when the instance holding the devices is killed', () => {
  let cluster: RealtimeCluster;
  let survivor: GatewayInstance;
  let doomed: ManagedProcess | undefined;
  let customer: { accessToken: string; customerId: string };

  beforeAll(async () => {
    assertBuilt();
    cluster = await startRealtimeCluster('commands-crash', 1, {
      ...SHORT_CLOCKS,
      COMMAND_ACK_TIMEOUT_SEC: '2',
      LOG_LEVEL: 'silent',
    });
    [survivor] = cluster.instances as [GatewayInstance];
    customer = await cluster.stack.mintCustomerToken();
  }, 60_000);

  afterAll(async () => {
    await doomed?.stop('SIGKILL');
    await cluster?.close();
  });

  it(
    'ends every command in exactly one final state after the devices reconnect elsewhere',
    async () => {
      const port = await findFreePort();
      const url = `http://127.0.0.1:${port}`;
      doomed = new ManagedProcess(process.execPath, [BUILT_MAIN], {
        env: environmentOf(survivor.app.get(AppConfig), port),
        cwd: ROOT,
      });
      await readyOrOutput(doomed, url, 'the child gateway serves');

      const portal = await cluster.sockets.connectPortal(survivor.url, customer.accessToken);
      const updates = record<CommandResponse>(portal, 'command:updated');
      const devices: { credentials: Credentials; sessionId: string }[] = [];
      for (let index = 0; index < 3; index += 1) {
        const { credentials } = await cluster.createDevice(customer.accessToken);
        await register(survivor, credentials);
        devices.push({
          credentials,
          sessionId: await openSession(survivor, credentials.deviceId, customer.accessToken),
        });
      }
      const [holder, silent, busy] = devices as [
        (typeof devices)[0],
        (typeof devices)[0],
        (typeof devices)[0],
      ];

      // On the doomed instance: two agents ack and keep what they run; one never acks.
      /** What each device was running when its instance died, by device id. */
      const held = new Map<string, string[]>();
      const onDoomed: Socket[] = [];
      for (const { credentials } of devices) {
        const socket = await cluster.sockets.connectAgent(url, credentials);
        onDoomed.push(socket);
        actAs(socket, (command, ack) => {
          if (credentials.deviceId === silent.credentials.deviceId) return;
          held.set(credentials.deviceId, [...(held.get(credentials.deviceId) ?? []), command.id]);
          ack({ accepted: true });
        });
      }
      const delivered = await issue(survivor, holder.sessionId, customer.accessToken);
      const unacked = await issue(survivor, silent.sessionId, customer.accessToken);
      const running = await issue(survivor, busy.sessionId, customer.accessToken);
      const waiting = await issue(survivor, busy.sessionId, customer.accessToken, { type: 'arp_table' });
      for (const [command, status] of [
        [delivered, 'delivered'],
        [unacked, 'sent'],
        [running, 'delivered'],
      ] as const) {
        await eventually(
          `${command.id} is ${status}`,
          () => readCommand(survivor, command.id),
          (read) => read?.status === status,
        );
      }
      expect(await readCommand(survivor, waiting.id)).toMatchObject({ status: 'queued' });

      const closed = onDoomed.map((socket) => disconnection(socket, 10_000));
      await doomed.stop('SIGKILL');
      await Promise.all(closed);

      // The agents reconnect to the survivor; those that finished meanwhile report their results there.
      for (const { credentials } of devices) {
        const socket = await cluster.sockets.connectAgent(survivor.url, credentials);
        actAs(socket, succeeding);
        for (const commandId of held.get(credentials.deviceId) ?? []) {
          socket.emit('command:result', {
            commandId,
            status: 'succeeded',
            output: { finishedWhileAway: true },
          });
        }
      }

      const all = [delivered, unacked, running, waiting];
      for (const command of all) {
        await eventually(
          `${command.id} is final`,
          () => readCommand(survivor, command.id),
          (read) => read !== null && FINAL.includes(read.status),
          { timeoutMs: 20_000 },
        );
      }
      const finals = (): Record<string, string[]> =>
        Object.fromEntries(
          all.map(({ id }) => [
            id,
            updates
              .filter(({ payload }) => payload.id === id && FINAL.includes(payload.status))
              .map(({ payload }) => payload.status),
          ]),
        );
      await eventually(
        'every final status reached the portal',
        () => Promise.resolve(finals()),
        (seen) => Object.values(seen).every((statuses) => statuses.length >= 1),
      );
      await holdsFor(
        'no command ends twice',
        () => Promise.resolve(finals()),
        (seen) => Object.values(seen).every((statuses) => statuses.length === 1),
        1_500,
      );
      expect(await readCommand(survivor, delivered.id)).toMatchObject({
        status: 'succeeded',
        output: { finishedWhileAway: true },
      });
      expect(await readCommand(survivor, running.id)).toMatchObject({ status: 'succeeded' });
      // Sent and never acked when its instance died: the survivor's ack clock redelivered it.
      expect(await readCommand(survivor, unacked.id)).toMatchObject({ status: 'succeeded', attempt: 2 });
      expect(await readCommand(survivor, waiting.id)).toMatchObject({ status: 'succeeded', attempt: 1 });
    },
    START_DEADLINE_MS + 60_000,
  );
});

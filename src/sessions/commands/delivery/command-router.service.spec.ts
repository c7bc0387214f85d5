import { eventually } from '../../../../test/support/eventually';
import { inMemoryDeliveryParts } from '../../../../test/support/in-memory-delivery';
import { inMemorySessions, pingCommand } from '../../../../test/support/in-memory-sessions';
import { customerPrincipal } from '../../../../test/support/principals';
import { loadConfig } from '../../../config/app-config';
import { MetricsService } from '../../../infra/metrics/metrics.service';
import { type AgentConnection } from '../../../realtime/realtime-connections';
import { RealtimeHandlers } from '../../../realtime/realtime-handlers';
import { CommandRouter } from './command-router.service';

describe('CommandRouter', () => {
  // One command in flight per device, the default.
  const config = loadConfig({ LOG_LEVEL: 'silent' });

  async function build() {
    const { commandStore, devices, deviceStore, sessions } = inMemorySessions(config);
    const metrics = new MetricsService();
    const { work, transitions } = inMemoryDeliveryParts({ commands: commandStore, devices, metrics, config });
    const handlers = new RealtimeHandlers();
    const router = new CommandRouter(config, handlers, transitions, work, metrics);
    router.onModuleInit();

    const owner = customerPrincipal();
    const device = deviceStore.put({ customerId: owner.userId, status: 'active', capabilities: ['ping'] });
    const session = await sessions.open(owner, device.id, {});
    /** The ids sent to the device's socket, which never acks (the test ends commands itself). */
    const sent: string[] = [];
    const connection: AgentConnection = {
      id: 'socket-1',
      device: { kind: 'device', deviceId: device.id, customerId: owner.userId },
      close: () => undefined,
      emitWithAck: (_event, payload) => {
        sent.push((payload as { id: string }).id);
      },
    };
    handlers.agent.announceConnected(connection);
    const claims = jest.spyOn(commandStore, 'claimQueued');

    /** Creates and submits a command, as the customer API does. */
    const issue = async () => {
      const { command, queued } = await commandStore.create(pingCommand(session.id, owner.userId));
      await transitions.submitted(command, queued);
      return command.id;
    };
    const end = (id: string) => transitions.apply(id, ['sent'], { status: 'cancelled' });
    const sentAre = (ids: string[]) =>
      eventually(
        `sent ${ids.join(', ')}`,
        () => Promise.resolve([...sent]),
        (now) => now.join() === ids.join(),
      );
    /** Lets every signal of the bus and the rounds they start run. */
    const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
    return { issue, end, sentAre, settle, claims };
  }

  it('claims nothing when a command ends on a device whose queue was empty after its last claim', async () => {
    const { issue, end, sentAre, settle, claims } = await build();
    const first = await issue();
    await sentAre([first]);
    await settle();
    const claimsBefore = claims.mock.calls.length;

    await end(first);
    await settle();

    expect(claims.mock.calls.length).toBe(claimsBefore);
    // A command queued afterwards still goes out at once.
    const second = await issue();
    await sentAre([first, second]);
  });

  it('gives the slot a command frees to one queued while the slot was taken', async () => {
    const { issue, end, sentAre, settle } = await build();
    const first = await issue();
    await sentAre([first]);
    const second = await issue();
    await settle();
    await sentAre([first]);

    await end(first);

    await sentAre([first, second]);
  });
});

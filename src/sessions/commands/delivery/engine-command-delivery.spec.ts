import { inMemoryDeliveryParts } from '../../../../test/support/in-memory-delivery';
import { inMemorySessions, pingCommand } from '../../../../test/support/in-memory-sessions';
import { customerPrincipal } from '../../../../test/support/principals';
import { loadConfig } from '../../../config/app-config';
import { MemoryCache } from '../../../infra/cache/memory-cache';
import { MetricsService } from '../../../infra/metrics/metrics.service';

describe('EngineCommandDelivery watches', () => {
  const config = loadConfig({ LOG_LEVEL: 'silent' });

  /** Two instances of the engine on one store and one bus, as two gateways on one database and Redis. */
  async function build() {
    const { commandStore, devices, deviceStore, sessions } = inMemorySessions(config);
    const bus = new MemoryCache();
    const instance = () =>
      inMemoryDeliveryParts({ commands: commandStore, devices, metrics: new MetricsService(), config, bus });
    const owner = customerPrincipal();
    const device = deviceStore.put({ customerId: owner.userId, status: 'active', capabilities: ['ping'] });
    const session = await sessions.open(owner, device.id, {});
    const queuedCommand = async () =>
      (await commandStore.create(pingCommand(session.id, owner.userId))).command;
    const reads = jest.spyOn(commandStore, 'findById');
    return { a: instance(), b: instance(), queuedCommand, reads };
  }

  it('hears a command that ends on its own instance from the transition, without reading it', async () => {
    const { a, queuedCommand, reads } = await build();
    const command = await queuedCommand();
    const watch = a.delivery.watch(command.id);

    await a.transitions.apply(command.id, ['queued'], { status: 'cancelled' });
    const settled = await watch.settled(30_000, { readFirst: false });

    expect(settled).toMatchObject({ id: command.id, status: 'cancelled' });
    expect(reads).not.toHaveBeenCalled();
  });

  it('hears a command that ends on another instance from the work signal, with one read', async () => {
    const { a, b, queuedCommand, reads } = await build();
    const command = await queuedCommand();
    const watch = a.delivery.watch(command.id);

    await b.transitions.apply(command.id, ['queued'], { status: 'cancelled' });
    const settled = await watch.settled(30_000, { readFirst: false });

    expect(settled).toMatchObject({ id: command.id, status: 'cancelled' });
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it('answers the command as it is when the wait runs out, and looks first when asked to', async () => {
    const { a, b, queuedCommand } = await build();
    const waiting = await queuedCommand();
    const ended = await queuedCommand();
    await b.transitions.apply(ended.id, ['queued'], { status: 'cancelled' });

    await expect(a.delivery.watch(waiting.id).settled(20, { readFirst: false })).resolves.toMatchObject({
      status: 'queued',
    });
    // Ended before the watch began: only the look finds it, at once.
    const started = Date.now();
    await expect(a.delivery.watch(ended.id).settled(30_000, { readFirst: true })).resolves.toMatchObject({
      status: 'cancelled',
    });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

import { AppConfig } from '../../src/config/app-config';
import { type DevicesService } from '../../src/devices/devices.service';
import { MemoryCache } from '../../src/infra/cache/memory-cache';
import { type MetricsService } from '../../src/infra/metrics/metrics.service';
import { RealtimeService } from '../../src/realtime/realtime.service';
import { type CommandRepository } from '../../src/sessions/commands/command.repository';
import { CommandTransitions } from '../../src/sessions/commands/delivery/command-transitions.service';
import { DeviceWorkSignal } from '../../src/sessions/commands/delivery/device-work.signal';
import { EngineCommandDelivery } from '../../src/sessions/commands/delivery/engine-command-delivery';
import { MemoryCommandClockStore } from '../../src/sessions/commands/delivery/memory-command-clock.store';

/**
 * The delivery engine on in-memory parts, for unit specs of its callers: the same transitions, clocks
 * and events as in the app, with no agent connected (a submitted command waits `queued`) and no sweeps
 * unless the spec runs them. Engines given one `bus` hear each other's work signals, as instances on one
 * Redis do.
 */
export function inMemoryDeliveryParts(parts: {
  commands: CommandRepository;
  devices: DevicesService;
  metrics: MetricsService;
  config?: AppConfig;
  realtime?: RealtimeService;
  bus?: MemoryCache;
}): { work: DeviceWorkSignal; transitions: CommandTransitions; delivery: EngineCommandDelivery } {
  const realtime = parts.realtime ?? new RealtimeService();
  const work = new DeviceWorkSignal(parts.bus ?? new MemoryCache());
  // As at the app's bootstrap: the memory cache subscribes at once, before any command is submitted.
  void work.onApplicationBootstrap();
  const transitions = new CommandTransitions(
    parts.config ?? new AppConfig(),
    parts.commands,
    new MemoryCommandClockStore(),
    parts.metrics,
    realtime,
    parts.devices,
    work,
  );
  return {
    work,
    transitions,
    delivery: new EngineCommandDelivery(parts.commands, transitions, realtime, work),
  };
}

/** The engine alone (see inMemoryDeliveryParts). */
export function inMemoryDelivery(
  parts: Omit<Parameters<typeof inMemoryDeliveryParts>[0], 'bus'>,
): EngineCommandDelivery {
  return inMemoryDeliveryParts(parts).delivery;
}

import { AuthSecrets } from '../../src/auth/auth-secrets';
import { DeviceCredentialsService } from '../../src/auth/device-credentials.service';
import { type AppConfig } from '../../src/config/app-config';
import { DeviceRevocations } from '../../src/devices/device-revocations';
import { DevicesService } from '../../src/devices/devices.service';
import { HeartbeatFlusher } from '../../src/devices/presence/heartbeat-flusher';
import { MemoryPresenceStore } from '../../src/devices/presence/memory-presence.store';
import { PresenceEvents } from '../../src/devices/presence/presence-events';
import { PresenceService } from '../../src/devices/presence/presence.service';
import { MemoryCache } from '../../src/infra/cache/memory-cache';
import { MetricsService } from '../../src/infra/metrics/metrics.service';
import { RealtimeService } from '../../src/realtime/realtime.service';
import { CloseOnDeviceRevocation } from '../../src/sessions/close-on-device-revocation';
import { type NewCommand } from '../../src/sessions/commands/command';
import { CommandsService } from '../../src/sessions/commands/commands.service';
import { SessionClosings } from '../../src/sessions/session-closings';
import { SessionPlans } from '../../src/sessions/session-plans';
import { SessionsService } from '../../src/sessions/sessions.service';
import { inMemoryDelivery } from './in-memory-delivery';
import {
  InMemoryAuditLogRepository,
  InMemoryCommandRepository,
  InMemoryDeviceCredentialStore,
  InMemoryDeviceRepository,
  InMemorySessionRepository,
} from './in-memory-storage';

/** A ping to create in a session, as the customer API would ask for it. */
export function pingCommand(sessionId: string, customerId: string): NewCommand {
  return {
    sessionId,
    type: 'ping',
    params: { host: 'example.com' },
    timeoutSec: 30,
    expiresInSec: 600,
    issuedBy: `customer:${customerId}`,
    planStep: null,
    idempotency: null,
  };
}

/**
 * The sessions feature (sessions and commands, with the delivery engine and the devices it relies on) wired
 * as its modules wire it, on in-memory ports, for the unit specs of its services. No agent is connected:
 * a submitted command waits `queued`.
 */
export function inMemorySessions<Realtime extends RealtimeService = RealtimeService>(
  config: AppConfig,
  realtime: Realtime = new RealtimeService() as Realtime,
) {
  const deviceStore = new InMemoryDeviceRepository();
  const sessionStore = new InMemorySessionRepository(deviceStore);
  const commandStore = new InMemoryCommandRepository(sessionStore);
  const audit = new InMemoryAuditLogRepository();
  const revocations = new DeviceRevocations();
  const credentials = new DeviceCredentialsService(
    config,
    new AuthSecrets('unit-pepper-0123456789abcdef0123456789abcdef', null),
    new InMemoryDeviceCredentialStore(deviceStore),
    new MemoryCache(),
  );
  const metrics = new MetricsService();
  const presence = new PresenceService(
    config,
    new MemoryPresenceStore(),
    deviceStore,
    new PresenceEvents(),
    metrics,
    new HeartbeatFlusher(config, deviceStore, metrics),
  );
  const devices = new DevicesService(deviceStore, credentials, presence, audit, revocations);
  const delivery = inMemoryDelivery({ commands: commandStore, devices, metrics, config, realtime });
  const commands = new CommandsService(config, commandStore, sessionStore, devices, delivery, audit);
  const sessions = new SessionsService(
    sessionStore,
    commandStore,
    devices,
    audit,
    realtime,
    commands,
    new SessionClosings(),
    new SessionPlans(),
  );
  new CloseOnDeviceRevocation(revocations, sessions).onModuleInit();
  return { sessions, commands, devices, deviceStore, sessionStore, commandStore, audit, realtime };
}

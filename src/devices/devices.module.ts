import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { RealtimeModule } from '../realtime/realtime.module';
import { cacheAdapter, storageAdapter } from '../infra/adapters';
import { AgentSocketHandlers } from './agent/agent-socket.handlers';
import { AgentController } from './agent/agent.controller';
import { AgentService } from './agent/agent.service';
import { HeartbeatRoute } from './agent/heartbeat.route';
import { DeviceRepository } from './device.repository';
import { DeviceRevocations } from './device-revocations';
import { DevicesController } from './devices.controller';
import { DeviceSubscriptionHandlers } from './device-subscription.handlers';
import { DevicesService } from './devices.service';
import { HeartbeatFlusher } from './presence/heartbeat-flusher';
import { MemoryPresenceStore } from './presence/memory-presence.store';
import { PresenceEvents } from './presence/presence-events';
import { PresenceRelay } from './presence/presence-relay';
import { PresenceStore } from './presence/presence.store';
import { PresenceCensus } from './presence/presence-census';
import { PresenceService } from './presence/presence.service';
import { RedisPresenceStore } from './presence/redis-presence.store';
import { SqlDeviceRepository } from './storage/sql-device.repository';
import { SupabaseDeviceRepository } from './storage/supabase-device.repository';

/**
 * Devices: the customers' devices API and their live status on /portal, the agents'
 * register and heartbeat over HTTP and /agent, and presence. The only writer of the `devices` rows.
 * Features that act on devices use DevicesService and hear of deletions through DeviceRevocations.
 */
@Module({
  imports: [AuthModule, AuditModule, RealtimeModule],
  controllers: [DevicesController, AgentController],
  providers: [
    DevicesService,
    AgentService,
    AgentSocketHandlers,
    HeartbeatRoute,
    DeviceSubscriptionHandlers,
    DeviceRevocations,
    PresenceService,
    PresenceEvents,
    PresenceRelay,
    HeartbeatFlusher,
    PresenceCensus,
    storageAdapter(DeviceRepository, { sql: SqlDeviceRepository, supabase: SupabaseDeviceRepository }),
    cacheAdapter(PresenceStore, { memory: MemoryPresenceStore, redis: RedisPresenceStore }),
  ],
  exports: [DevicesService, DeviceRevocations],
})
export class DevicesModule {}

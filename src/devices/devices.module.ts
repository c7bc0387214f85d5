import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { cacheAdapter, storageAdapter } from '../infra/adapters';
import { AgentController } from './agent/agent.controller';
import { AgentService } from './agent/agent.service';
import { DeviceRepository } from './device.repository';
import { DevicesController } from './devices.controller';
import { DevicesService } from './devices.service';
import { HeartbeatFlusher } from './presence/heartbeat-flusher';
import { MemoryPresenceStore } from './presence/memory-presence.store';
import { PresenceEvents } from './presence/presence-events';
import { PresenceStore } from './presence/presence.store';
import { PresenceService } from './presence/presence.service';
import { RedisPresenceStore } from './presence/redis-presence.store';
import { SqlDeviceRepository } from './storage/sql-device.repository';
import { SupabaseDeviceRepository } from './storage/supabase-device.repository';

/**
 * Devices (PRODUCT §3–§5): the customers' devices API, the agents' register and heartbeat, and presence.
 * The only writer of the `devices` rows.
 */
@Module({
  imports: [AuthModule, AuditModule],
  controllers: [DevicesController, AgentController],
  providers: [
    DevicesService,
    AgentService,
    PresenceService,
    PresenceEvents,
    HeartbeatFlusher,
    storageAdapter(DeviceRepository, { sql: SqlDeviceRepository, supabase: SupabaseDeviceRepository }),
    cacheAdapter(PresenceStore, { memory: MemoryPresenceStore, redis: RedisPresenceStore }),
  ],
  exports: [DevicesService, PresenceService, PresenceEvents],
})
export class DevicesModule {}

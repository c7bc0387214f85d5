import { Module } from '@nestjs/common';
import { DevicesModule } from '../../../devices/devices.module';
import { cacheAdapter, storageAdapter } from '../../../infra/adapters';
import { RealtimeModule } from '../../../realtime/realtime.module';
import { AgentCommandSocketHandlers } from '../agent/agent-command-socket.handlers';
import { AgentCommandsController } from '../agent/agent-commands.controller';
import { AgentCommandsService } from '../agent/agent-commands.service';
import { CommandRepository } from '../command.repository';
import { SqlCommandRepository } from '../storage/sql-command.repository';
import { SupabaseCommandRepository } from '../storage/supabase-command.repository';
import { CommandClockStore } from './command-clock.store';
import { CommandClockSweeper } from './command-clock.sweeper';
import { CommandDelivery } from './command-delivery';
import { CommandRouter } from './command-router.service';
import { CommandTransitions } from './command-transitions.service';
import { DeviceWorkSignal } from './device-work.signal';
import { EngineCommandDelivery } from './engine-command-delivery';
import { MemoryCommandClockStore } from './memory-command-clock.store';
import { RedisCommandClockStore } from './redis-command-clock.store';

/**
 * The command delivery engine (issue 11 items 5–8): each command's queue, its three clocks in shared
 * state, the routing to the instance that holds the device's socket or long poll, and the agent's side of
 * commands (acks, progress, results, over the socket and HTTP). Its interface is CommandDelivery, which
 * the customer API and remediation use; it also provides the commands' storage to SessionsModule.
 */
@Module({
  imports: [DevicesModule, RealtimeModule],
  controllers: [AgentCommandsController],
  providers: [
    storageAdapter(CommandRepository, { sql: SqlCommandRepository, supabase: SupabaseCommandRepository }),
    cacheAdapter(CommandClockStore, { memory: MemoryCommandClockStore, redis: RedisCommandClockStore }),
    DeviceWorkSignal,
    CommandTransitions,
    CommandRouter,
    CommandClockSweeper,
    AgentCommandsService,
    AgentCommandSocketHandlers,
    { provide: CommandDelivery, useClass: EngineCommandDelivery },
  ],
  exports: [CommandDelivery, CommandRepository],
})
export class CommandDeliveryModule {}

import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { DevicesModule } from '../devices/devices.module';
import { storageAdapter } from '../infra/adapters';
import { RealtimeModule } from '../realtime/realtime.module';
import { CloseOnDeviceRevocation } from './close-on-device-revocation';
import { CommandsController } from './commands/commands.controller';
import { CommandsService } from './commands/commands.service';
import { CommandDeliveryModule } from './commands/delivery/command-delivery.module';
import { SessionClosings } from './session-closings';
import { SessionPlans } from './session-plans';
import { SessionRepository } from './session.repository';
import { SessionsController } from './sessions.controller';
import { SessionsService } from './sessions.service';
import { SqlSessionRepository } from './storage/sql-session.repository';
import { SupabaseSessionRepository } from './storage/supabase-session.repository';

/**
 * Diagnostic sessions (docs/guide.md#diagnostic-sessions, #principals-and-authentication) and their commands: the customer API of sessions and of
 * commands (delivered by the engine behind CommandDelivery), `session:updated` on /portal, and the
 * closing of a deleted device's session with its commands. The only writer of the
 * `diagnostic_sessions` and `commands` rows: remediation reads and writes them through the ports
 * exported here, and hears of closings through SessionClosings.
 */
@Module({
  imports: [AuditModule, DevicesModule, RealtimeModule, CommandDeliveryModule],
  controllers: [SessionsController, CommandsController],
  providers: [
    SessionsService,
    CommandsService,
    CloseOnDeviceRevocation,
    SessionClosings,
    SessionPlans,
    storageAdapter(SessionRepository, { sql: SqlSessionRepository, supabase: SupabaseSessionRepository }),
  ],
  // For remediation, which issues its steps as commands of a session and hooks into the session's view
  // and closing; CommandDeliveryModule brings CommandDelivery and CommandRepository.
  exports: [SessionRepository, CommandDeliveryModule, SessionClosings, SessionPlans],
})
export class SessionsModule {}

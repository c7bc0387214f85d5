import { type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AuditLogRepository } from '../../src/audit/audit-log.repository';
import { type AppConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { AuditModule } from '../../src/audit/audit.module';
import { DeviceCredentialStore } from '../../src/auth/device-credential.store';
import { SqlDeviceCredentialStore } from '../../src/auth/storage/sql-device-credential.store';
import { SupabaseDeviceCredentialStore } from '../../src/auth/storage/supabase-device-credential.store';
import { DeviceRepository } from '../../src/devices/device.repository';
import { SqlDeviceRepository } from '../../src/devices/storage/sql-device.repository';
import { SupabaseDeviceRepository } from '../../src/devices/storage/supabase-device.repository';
import { storageAdapter } from '../../src/infra/adapters';
import { DatabaseModule } from '../../src/infra/database/database.module';
import { SqlExecutor } from '../../src/infra/database/sql/sql-executor';
import { CommandRepository } from '../../src/sessions/commands/command.repository';
import { SqlCommandRepository } from '../../src/sessions/commands/storage/sql-command.repository';
import { SupabaseCommandRepository } from '../../src/sessions/commands/storage/supabase-command.repository';
import { SessionRepository } from '../../src/sessions/session.repository';
import { SqlSessionRepository } from '../../src/sessions/storage/sql-session.repository';
import { SupabaseSessionRepository } from '../../src/sessions/storage/supabase-session.repository';
import { PlanRepository } from '../../src/remediation/plan.repository';
import { SqlPlanRepository } from '../../src/remediation/storage/sql-plan.repository';
import { SupabasePlanRepository } from '../../src/remediation/storage/supabase-plan.repository';
import { type StorageUnderTest } from './storage.contract';

const quietLogger: LoggerService = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * The storage ports as the gateway wires them for config.DATA_BACKEND: the same modules, bindings and
 * factories (pool, PGlite + migrate, supabase-js client) production uses. close() runs their shutdown hooks.
 */
export async function openStorage(
  config: AppConfig,
  /** Runs SQL on the database behind the ports; for the SQL backends, their own executor by default. */
  runSql?: (text: string, params: unknown[]) => Promise<unknown>,
): Promise<StorageUnderTest> {
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot(config.DATA_BACKEND), AuditModule],
    providers: [
      storageAdapter(DeviceRepository, { sql: SqlDeviceRepository, supabase: SupabaseDeviceRepository }),
      storageAdapter(DeviceCredentialStore, {
        sql: SqlDeviceCredentialStore,
        supabase: SupabaseDeviceCredentialStore,
      }),
      storageAdapter(SessionRepository, { sql: SqlSessionRepository, supabase: SupabaseSessionRepository }),
      storageAdapter(CommandRepository, { sql: SqlCommandRepository, supabase: SupabaseCommandRepository }),
      storageAdapter(PlanRepository, { sql: SqlPlanRepository, supabase: SupabasePlanRepository }),
    ],
  })
    .setLogger(quietLogger)
    .compile();
  const sql =
    runSql ??
    ((text: string, params: unknown[]) => moduleRef.get(SqlExecutor, { strict: false }).query(text, params));
  return {
    devices: moduleRef.get(DeviceRepository),
    audit: moduleRef.get(AuditLogRepository, { strict: false }),
    credentials: moduleRef.get(DeviceCredentialStore),
    sessions: moduleRef.get(SessionRepository),
    commands: moduleRef.get(CommandRepository),
    plans: moduleRef.get(PlanRepository),
    setCreatedAt: async (deviceIds, createdAt) => {
      await sql('update public.devices set created_at = $1 where id = any($2::uuid[])', [
        createdAt,
        deviceIds,
      ]);
    },
    setSessionCreatedAt: async (sessionIds, createdAt) => {
      await sql('update public.diagnostic_sessions set created_at = $1 where id = any($2::uuid[])', [
        createdAt,
        sessionIds,
      ]);
    },
    setCommandTimes: async (commandIds, times) => {
      await sql(
        `update public.commands set created_at = coalesce($1, created_at), expires_at = coalesce($2, expires_at)
         where id = any($3::uuid[])`,
        [times.createdAt ?? null, times.expiresAt ?? null, commandIds],
      );
    },
    setPlanExpiresAt: async (planIds, expiresAt) => {
      await sql('update public.remediation_plans set expires_at = $1 where id = any($2::uuid[])', [
        expiresAt,
        planIds,
      ]);
    },
    close: () => moduleRef.close(),
  };
}

import { type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AuditLogRepository } from '../../src/audit/audit-log.repository';
import { type AppConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { DeviceRepository } from '../../src/devices/device.repository';
import { DatabaseModule } from '../../src/infra/database/database.module';
import { SqlExecutor } from '../../src/infra/database/sql/sql-executor';
import { type StorageUnderTest } from './storage.contract';

const quietLogger: LoggerService = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * The storage ports as the gateway wires them for config.DATA_BACKEND: the same module, providers and
 * factories (pool, PGlite + migrate, supabase-js client) production uses. close() runs their shutdown hooks.
 */
export async function openStorage(
  config: AppConfig,
  /** Runs SQL on the database behind the ports; for the SQL backends, their own executor by default. */
  runSql?: (text: string, params: unknown[]) => Promise<unknown>,
): Promise<StorageUnderTest> {
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot(config.DATA_BACKEND)],
  })
    .setLogger(quietLogger)
    .compile();
  const sql =
    runSql ??
    ((text: string, params: unknown[]) => moduleRef.get(SqlExecutor, { strict: false }).query(text, params));
  return {
    devices: moduleRef.get(DeviceRepository),
    audit: moduleRef.get(AuditLogRepository),
    setCreatedAt: async (deviceIds, createdAt) => {
      await sql('update public.devices set created_at = $1 where id = any($2::uuid[])', [
        createdAt,
        deviceIds,
      ]);
    },
    close: () => moduleRef.close(),
  };
}

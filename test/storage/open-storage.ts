import { type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AuditLogRepository } from '../../src/audit/audit-log.repository';
import { type AppConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { DeviceRepository } from '../../src/devices/device.repository';
import { DatabaseModule } from '../../src/infra/database/database.module';
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
export async function openStorage(config: AppConfig): Promise<StorageUnderTest> {
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot(config.DATA_BACKEND)],
  })
    .setLogger(quietLogger)
    .compile();
  return {
    devices: moduleRef.get(DeviceRepository),
    audit: moduleRef.get(AuditLogRepository),
    close: () => moduleRef.close(),
  };
}

import { type DynamicModule, Global, Logger, Module, type Provider } from '@nestjs/common';
import { AuditLogRepository } from '../../audit/audit-log.repository';
import { AppConfig, DataBackend } from '../../config/app-config';
import { DeviceRepository } from '../../devices/device.repository';
import { supabaseClientProvider } from '../supabase/supabase-client.provider';
import { DataHealth } from './data-health';
import { migrate } from './migrator';
import { PgPoolExecutor } from './sql/pg-pool.executor';
import { EMBEDDED_IMAGE_DIR, PgliteExecutor } from './sql/pglite.executor';
import { SqlAuditLogRepository } from './sql/sql-audit-log.repository';
import { SqlDataHealth } from './sql/sql-data-health';
import { SqlDeviceRepository } from './sql/sql-device.repository';
import { SqlExecutor } from './sql/sql-executor';
import { SupabaseAuditLogRepository } from './supabase/supabase-audit-log.repository';
import { SupabaseDataHealth } from './supabase/supabase-data-health';
import { SupabaseDeviceRepository } from './supabase/supabase-device.repository';

const PORTS = [DeviceRepository, AuditLogRepository, DataHealth];

function sqlProviders(executor: Provider): Provider[] {
  return [
    executor,
    { provide: DeviceRepository, useClass: SqlDeviceRepository },
    { provide: AuditLogRepository, useClass: SqlAuditLogRepository },
    { provide: DataHealth, useClass: SqlDataHealth },
  ];
}

function providersFor(backend: DataBackend): Provider[] {
  switch (backend) {
    case DataBackend.Embedded:
      return sqlProviders({
        provide: SqlExecutor,
        inject: [AppConfig],
        useFactory: async (config: AppConfig) => {
          const logger = new Logger('DatabaseModule');
          const executor = await PgliteExecutor.open(config.DATA_DIR);
          if (executor.origin === 'image') {
            logger.log(`Created the embedded database in ${config.DATA_DIR} from the build's image`);
          } else if (executor.origin === 'initdb') {
            logger.warn(
              `No embedded database image at ${EMBEDDED_IMAGE_DIR} (\`npm run build\` prepares it): ` +
                `created the database in ${config.DATA_DIR} with initdb, which is slower and holds more memory`,
            );
          }
          const applied = await migrate(executor);
          if (applied.length > 0) {
            logger.log(`Applied migrations ${applied.join(', ')} to ${config.DATA_DIR}`);
          }
          return executor;
        },
      });
    case DataBackend.Postgres:
      return sqlProviders({
        provide: SqlExecutor,
        inject: [AppConfig],
        useFactory: (config: AppConfig) => PgPoolExecutor.fromConfig(config),
      });
    case DataBackend.Supabase:
      return [
        supabaseClientProvider,
        { provide: DeviceRepository, useClass: SupabaseDeviceRepository },
        { provide: AuditLogRepository, useClass: SupabaseAuditLogRepository },
        { provide: DataHealth, useClass: SupabaseDataHealth },
      ];
  }
}

/**
 * Storage ports bound to the adapter DATA_BACKEND names. Feature modules inject the ports only.
 * The postgres backend expects the schema in place (`supabase db push`); embedded migrates itself.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(backend: DataBackend): DynamicModule {
    return { module: DatabaseModule, providers: providersFor(backend), exports: PORTS };
  }
}

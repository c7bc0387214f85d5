import { type DynamicModule, Global, Logger, Module, type Provider } from '@nestjs/common';
import { AppConfig, DataBackend } from '../../config/app-config';
import { type MetricsService, OPTIONAL_METRICS, UNOBSERVED } from '../metrics/metrics.service';
import { SUPABASE_CLIENT, supabaseClientProvider } from '../supabase/supabase-client.provider';
import { DataHealth } from './data-health';
import { migrate } from './migrator';
import { PgPoolExecutor } from './sql/pg-pool.executor';
import { EMBEDDED_IMAGE_DIR, PgliteExecutor } from './sql/pglite.executor';
import { SqlDataHealth } from './sql/sql-data-health';
import { SqlExecutor } from './sql/sql-executor';
import { SupabaseDataHealth } from './supabase/supabase-data-health';

function sqlProviders(executor: Provider): Provider[] {
  return [executor, { provide: DataHealth, useClass: SqlDataHealth }];
}

function providersFor(backend: DataBackend): Provider[] {
  switch (backend) {
    case DataBackend.Embedded:
      return sqlProviders({
        provide: SqlExecutor,
        inject: [AppConfig, OPTIONAL_METRICS],
        useFactory: async (config: AppConfig, metrics?: MetricsService) => {
          const logger = new Logger('DatabaseModule');
          const executor = await PgliteExecutor.open(config.DATA_DIR);
          executor.observeCalls((operation) => metrics?.dataCalls('embedded', operation) ?? UNOBSERVED);
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
        inject: [AppConfig, OPTIONAL_METRICS],
        useFactory: (config: AppConfig, metrics?: MetricsService) => {
          const executor = PgPoolExecutor.fromConfig(config);
          executor.observeCalls((operation) => metrics?.dataCalls('postgres', operation) ?? UNOBSERVED);
          return executor;
        },
      });
    case DataBackend.Supabase:
      return [supabaseClientProvider, { provide: DataHealth, useClass: SupabaseDataHealth }];
  }
}

/**
 * The database connection DATA_BACKEND names (SqlExecutor, or the supabase-js client) and its health
 * check. Feature modules bind their own storage ports to adapters on it (storageAdapter in infra/adapters).
 * The postgres backend expects the schema in place (`supabase db push`); embedded migrates itself.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(backend: DataBackend): DynamicModule {
    const connection = backend === DataBackend.Supabase ? SUPABASE_CLIENT : SqlExecutor;
    return { module: DatabaseModule, providers: providersFor(backend), exports: [connection, DataHealth] };
  }
}

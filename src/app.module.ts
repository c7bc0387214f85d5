import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { LifecycleModule } from './common/lifecycle/lifecycle.module';
import { type AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DevicesModule } from './devices/devices.module';
import { DocsModule } from './docs/docs.module';
import { HealthModule } from './health/health.module';
import { CacheModule } from './infra/cache/cache.module';
import { DatabaseModule } from './infra/database/database.module';
import { MetricsModule } from './infra/metrics/metrics.module';
import { RealtimeModule } from './realtime/realtime.module';
import { RemediationModule } from './remediation/remediation.module';
import { SessionsModule } from './sessions/sessions.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, extraModules: Type[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LifecycleModule,
        MetricsModule,
        DatabaseModule.forRoot(config.DATA_BACKEND),
        CacheModule.forRoot(config.CACHE_BACKEND),
        AuthModule,
        HealthModule,
        DevicesModule,
        SessionsModule,
        RemediationModule,
        RealtimeModule,
        DocsModule,
        ...extraModules,
      ],
    };
  }
}

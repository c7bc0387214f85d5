import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CacheHealthIndicator } from './cache.health';
import { DataHealthIndicator } from './data.health';
import { HealthController } from './health.controller';
import { ShutdownHealthIndicator } from './shutdown.health';
import { VersionService } from './version.service';

@Module({
  // Readiness failures are answered with 503 and logged once per outage by the clients themselves.
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [CacheHealthIndicator, DataHealthIndicator, ShutdownHealthIndicator, VersionService],
  exports: [VersionService],
})
export class HealthModule {}

import { Controller, Get, Header, HttpCode, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { type FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator';
import { MetricsService } from '../infra/metrics/metrics.service';
import { CacheHealthIndicator } from './cache.health';
import { DataHealthIndicator } from './data.health';
import { ShutdownHealthIndicator } from './shutdown.health';
import { type VersionInfo, VersionService } from './version.service';

/** Operations endpoints (PRODUCT §3.4): no authentication, meant for the cluster network only. */
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly cache: CacheHealthIndicator,
    private readonly data: DataHealthIndicator,
    private readonly shutdown: ShutdownHealthIndicator,
    private readonly version: VersionService,
    private readonly metrics: MetricsService,
  ) {}

  /** The process answers: nothing outside it is touched, so a dependency outage never restarts pods. */
  @Get('health/live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Every dependency, each within its timeout; 503 names each failing check. */
  @Get('health/ready')
  @HealthCheck()
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.shutdown.check(),
        () => this.cache.check(),
        () => this.data.check(),
      ]);
    } catch (error) {
      if (error instanceof ServiceUnavailableException) {
        void reply.status(503);
        return error.getResponse() as HealthCheckResult;
      }
      throw error;
    }
  }

  @Get('version')
  versionInfo(): VersionInfo {
    return this.version.info;
  }

  @Get('metrics')
  @Header('cache-control', 'no-store')
  async metricsText(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('content-type', this.metrics.contentType);
    return this.metrics.render();
  }
}

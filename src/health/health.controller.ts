import { Controller, Get, Header, HttpCode, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { type FastifyReply } from 'fastify';
import { Public } from '../auth/public.decorator';
import { Documented } from '../common/docs/route-docs';
import { constant, described, object } from '../common/docs/typed-schema';
import { MetricsService } from '../infra/metrics/metrics.service';
import { CacheHealthIndicator } from './cache.health';
import { DataHealthIndicator } from './data.health';
import { ShutdownHealthIndicator } from './shutdown.health';
import { VERSION_SCHEMA, type VersionInfo, VersionService } from './version.service';

const CHECKS = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
    required: ['status'],
  },
};

/** Terminus's answer: each check by name (`shutdown`, `cache`, `data`) with its status. */
const READINESS_SCHEMA = described<HealthCheckResult>({
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
    info: CHECKS,
    error: CHECKS,
    details: CHECKS,
  },
  required: ['status', 'details'],
});

/** Operations endpoints (README.md#the-api-in-short): no authentication, meant for the cluster network only. */
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
  @Documented({
    summary: 'Liveness',
    description: 'The process answers; nothing outside it is checked.',
    responses: {
      200: { description: 'Alive', schema: object<{ status: 'ok' }>({ status: constant('ok') }) },
    },
  })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Every dependency, each within its timeout; 503 names each failing check. */
  @Get('health/ready')
  @HealthCheck()
  @Documented({
    summary: 'Readiness',
    description: 'Redis and the data backend, each within its timeout; 503 names each failing check.',
    responses: {
      200: { description: 'Ready', schema: READINESS_SCHEMA },
      503: { description: 'Not ready (or shutting down): the failing checks', schema: READINESS_SCHEMA },
    },
  })
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
  @Documented({
    summary: 'Version',
    responses: { 200: { description: 'The build', schema: VERSION_SCHEMA } },
  })
  versionInfo(): VersionInfo {
    return this.version.info;
  }

  @Get('metrics')
  @Header('cache-control', 'no-store')
  @Documented({
    summary: 'Prometheus metrics',
    responses: {
      200: { description: 'The Prometheus text format', contentType: 'text/plain; version=0.0.4' },
    },
  })
  async metricsText(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('content-type', this.metrics.contentType);
    return this.metrics.render();
  }
}

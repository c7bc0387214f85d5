import { Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config';
import { Cache } from '../infra/cache/cache';
import { withTimeout } from '../common/with-timeout';
import { describeFailure } from './failure-message';

@Injectable()
export class CacheHealthIndicator {
  constructor(
    private readonly cache: Cache,
    private readonly indicators: HealthIndicatorService,
    private readonly config: AppConfig,
  ) {}

  async check(key = 'cache'): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    try {
      await withTimeout(this.cache.ping(), this.config.HEALTH_CHECK_TIMEOUT_MS, 'The cache');
      return indicator.up({ backend: this.config.CACHE_BACKEND });
    } catch (error) {
      return indicator.down({
        backend: this.config.CACHE_BACKEND,
        message: `${key}: ${describeFailure(error)}`,
      });
    }
  }
}

import { Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config';
import { withTimeout } from '../common/with-timeout';
import { DataHealth } from '../infra/database/data-health';
import { describeFailure } from './failure-message';

@Injectable()
export class DataHealthIndicator {
  constructor(
    private readonly data: DataHealth,
    private readonly indicators: HealthIndicatorService,
    private readonly config: AppConfig,
  ) {}

  async check(key = 'database'): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    try {
      await withTimeout(this.data.check(), this.config.HEALTH_CHECK_TIMEOUT_MS, 'The data backend');
      return indicator.up({ backend: this.config.DATA_BACKEND });
    } catch (error) {
      return indicator.down({
        backend: this.config.DATA_BACKEND,
        message: `${key}: ${describeFailure(error)}`,
      });
    }
  }
}

import { Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { ShutdownState } from '../common/lifecycle/shutdown-state';

/** Down from SIGTERM on, so that load balancers stop routing here before the listener closes. */
@Injectable()
export class ShutdownHealthIndicator {
  constructor(
    private readonly shutdown: ShutdownState,
    private readonly indicators: HealthIndicatorService,
  ) {}

  check(key = 'lifecycle'): HealthIndicatorResult {
    const indicator = this.indicators.check(key);
    return this.shutdown.isShuttingDown ? indicator.down({ message: 'shutting down' }) : indicator.up();
  }
}

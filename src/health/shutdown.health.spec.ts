import { HealthIndicatorService } from '@nestjs/terminus';
import { ShutdownState } from '../common/lifecycle/shutdown-state';
import { ShutdownHealthIndicator } from './shutdown.health';

describe('ShutdownHealthIndicator', () => {
  it('is up while the process runs and down, saying why, from the moment it is told to stop', () => {
    const shutdown = new ShutdownState();
    const indicator = new ShutdownHealthIndicator(shutdown, new HealthIndicatorService());
    expect(indicator.check()).toEqual({ lifecycle: { status: 'up' } });

    shutdown.begin();

    expect(indicator.check()).toEqual({ lifecycle: { status: 'down', message: 'shutting down' } });
    expect(indicator.check('drain')).toEqual({ drain: { status: 'down', message: 'shutting down' } });
  });
});

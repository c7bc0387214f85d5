import { HealthIndicatorService } from '@nestjs/terminus';
import { loadConfig } from '../config/app-config';
import { DataHealth } from '../infra/database/data-health';
import { DataHealthIndicator } from './data.health';

/** The data backend's readiness port, answering as a test tells it to. */
class ProbedDataHealth extends DataHealth {
  answer: () => Promise<void> = () => Promise.resolve();

  override check(): Promise<void> {
    return this.answer();
  }
}

describe('DataHealthIndicator', () => {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DATA_BACKEND: 'postgres',
    DATABASE_URL: 'postgresql://gateway@127.0.0.1:9/unused',
    SUPABASE_URL: 'http://127.0.0.1:9/unused',
    DEVICE_SECRET_PEPPER: 'unit-pepper-0123456789abcdef0123456789abcdef',
    HEALTH_CHECK_TIMEOUT_MS: '300',
  });
  let data: ProbedDataHealth;
  let indicator: DataHealthIndicator;

  beforeEach(() => {
    data = new ProbedDataHealth();
    indicator = new DataHealthIndicator(data, new HealthIndicatorService(), config);
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('is up, naming the backend, when the database answers', async () => {
    await expect(indicator.check()).resolves.toEqual({ database: { status: 'up', backend: 'postgres' } });
  });

  it('is down with a message that names the check and says what is wrong', async () => {
    data.answer = () =>
      Promise.reject(Object.assign(new Error('sorry, too many clients already'), { code: '53300' }));

    await expect(indicator.check('primary')).resolves.toEqual({
      primary: { status: 'down', backend: 'postgres', message: 'primary: too many connections' },
    });
  });

  it('is down once HEALTH_CHECK_TIMEOUT_MS passes without an answer, and not before', async () => {
    jest.useFakeTimers();
    data.answer = () => new Promise<void>(() => undefined);
    let settled: unknown;
    void indicator.check().then((result) => (settled = result));

    await jest.advanceTimersByTimeAsync(config.HEALTH_CHECK_TIMEOUT_MS - 1);
    expect(settled).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);

    expect(settled).toEqual({
      database: { status: 'down', backend: 'postgres', message: 'database: no answer within 300 ms' },
    });
  });
});

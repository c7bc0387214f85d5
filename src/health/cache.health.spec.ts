import { HealthIndicatorService } from '@nestjs/terminus';
import { loadConfig } from '../config/app-config';
import { MemoryCache } from '../infra/cache/memory-cache';
import { CacheHealthIndicator } from './cache.health';

/** A memory cache whose ping does what a test tells it to. */
class ProbedCache extends MemoryCache {
  answer: () => Promise<void> = () => Promise.resolve();

  override ping(): Promise<void> {
    return this.answer();
  }
}

describe('CacheHealthIndicator', () => {
  const config = loadConfig({ LOG_LEVEL: 'silent', CACHE_BACKEND: 'memory', HEALTH_CHECK_TIMEOUT_MS: '200' });
  let cache: ProbedCache;
  let indicator: CacheHealthIndicator;

  beforeEach(() => {
    cache = new ProbedCache();
    indicator = new CacheHealthIndicator(cache, new HealthIndicatorService(), config);
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('is up, naming the backend, when the cache answers', async () => {
    await expect(indicator.check()).resolves.toEqual({ cache: { status: 'up', backend: 'memory' } });
    await expect(indicator.check('redis')).resolves.toEqual({ redis: { status: 'up', backend: 'memory' } });
  });

  it('is down with a message that names the check and says what is wrong', async () => {
    cache.answer = () =>
      Promise.reject(
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }),
      );

    await expect(indicator.check()).resolves.toEqual({
      cache: { status: 'down', backend: 'memory', message: 'cache: not reachable (connection refused)' },
    });
  });

  it('is down once HEALTH_CHECK_TIMEOUT_MS passes without an answer, and not before', async () => {
    jest.useFakeTimers();
    cache.answer = () => new Promise<void>(() => undefined);
    let settled: unknown;
    void indicator.check().then((result) => (settled = result));

    await jest.advanceTimersByTimeAsync(config.HEALTH_CHECK_TIMEOUT_MS - 1);
    expect(settled).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);

    expect(settled).toEqual({
      cache: { status: 'down', backend: 'memory', message: 'cache: no answer within 200 ms' },
    });
  });

  it('is up when a slow answer still comes within the timeout', async () => {
    jest.useFakeTimers();
    cache.answer = () =>
      new Promise<void>((resolve) => setTimeout(resolve, config.HEALTH_CHECK_TIMEOUT_MS - 1));
    const result = indicator.check();

    await jest.advanceTimersByTimeAsync(config.HEALTH_CHECK_TIMEOUT_MS);

    await expect(result).resolves.toEqual({ cache: { status: 'up', backend: 'memory' } });
  });
});

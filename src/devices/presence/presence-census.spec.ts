import { Logger } from '@nestjs/common';
import { InMemoryDeviceRepository } from '../../../test/support/in-memory-storage';
import { DependencyUnavailableError } from '../../common/errors/common.errors';
import { loadConfig } from '../../config/app-config';
import { MetricsService } from '../../infra/metrics/metrics.service';
import { PresenceCensus } from './presence-census';

const T0 = Date.parse('2026-12-01T12:00:00.000Z');
const CACHE_MS = 5000;
const TIMEOUT_MS = 1000;

const config = loadConfig({
  LOG_LEVEL: 'silent',
  METRICS_PRESENCE_CACHE_MS: String(CACHE_MS),
  DATABASE_TIMEOUT_MS: String(TIMEOUT_MS),
});

describe('PresenceCensus', () => {
  let devices: InMemoryDeviceRepository;
  let metrics: MetricsService;
  let census: PresenceCensus;
  let reads: jest.SpyInstance;
  let warnings: jest.SpyInstance;

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    devices = new InMemoryDeviceRepository();
    devices.put({ presenceState: 'online' });
    devices.put({ presenceState: 'online' });
    devices.put({ presenceState: 'offline' });
    devices.put({ presenceState: 'stale', status: 'revoked' });
    reads = jest.spyOn(devices, 'countByPresence');
    metrics = new MetricsService();
    census = new PresenceCensus(devices, config, metrics);
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  const scrape = async () => {
    const rendered = metrics.render();
    await jest.advanceTimersByTimeAsync(0);
    return rendered;
  };

  it('exports the live devices by state, every state present, and that they could be read', async () => {
    const text = await scrape();

    expect(text).toContain('devices_by_presence{state="online"} 2');
    expect(text).toContain('devices_by_presence{state="offline"} 1');
    expect(text).toContain('devices_by_presence{state="stale"} 0');
    expect(text).toContain('devices_by_presence{state="unknown"} 0');
    expect(text).toContain('devices_by_presence_up 1');
  });

  it('reads once for concurrent scrapes and for the cache interval, then again', async () => {
    await Promise.all([census.read(), census.read(), scrape()]);
    expect(reads).toHaveBeenCalledTimes(1);

    await jest.advanceTimersByTimeAsync(CACHE_MS - 1);
    devices.put({ presenceState: 'online' });
    expect((await census.read())?.get('online')).toBe(2);
    expect(reads).toHaveBeenCalledTimes(1);

    await jest.advanceTimersByTimeAsync(1);
    expect((await census.read())?.get('online')).toBe(3);
    expect(reads).toHaveBeenCalledTimes(2);
  });

  it('answers null at DATABASE_TIMEOUT_MS when the database does not answer, and the series go absent', async () => {
    await census.read();
    await jest.advanceTimersByTimeAsync(CACHE_MS);
    reads.mockImplementation(() => new Promise(() => undefined));

    const rendered = metrics.render();
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS);
    const text = await rendered;

    expect(text).not.toMatch(/^devices_by_presence\{/m);
    expect(text).toContain('devices_by_presence_up 0');
    expect(warnings).toHaveBeenCalledTimes(1);
  });

  it('tries again at the next scrape after a failure, logging once per outage', async () => {
    reads.mockRejectedValue(new DependencyUnavailableError('database', new Error('connection refused')));
    expect(await census.read()).toBeNull();
    expect(await census.read()).toBeNull();
    expect(reads).toHaveBeenCalledTimes(2);
    expect(warnings).toHaveBeenCalledTimes(1);

    reads.mockRestore();
    expect((await census.read())?.get('offline')).toBe(1);
  });
});

import { Injectable, Logger } from '@nestjs/common';
import { withTimeout } from '../../common/with-timeout';
import { AppConfig } from '../../config/app-config';
import { MetricsService, type PresenceCounts } from '../../infra/metrics/metrics.service';
import { DeviceRepository } from '../device.repository';

/**
 * The cluster's devices by presence state for /metrics, read from the database's recorded states (which
 * every transition writes at once), so every instance reports the same numbers whichever devices it
 * serves, and on either cache backend. One read serves the scrapes of METRICS_PRESENCE_CACHE_MS, and
 * concurrent scrapes share the read in flight. A read that fails or outlasts DATABASE_TIMEOUT_MS answers
 * null (the series are absent at that scrape) instead of holding or failing the scrape.
 */
@Injectable()
export class PresenceCensus {
  private readonly logger = new Logger(PresenceCensus.name);
  private cached: { counts: PresenceCounts; until: number } | undefined;
  private reading: Promise<PresenceCounts> | undefined;
  private failing = false;

  constructor(
    private readonly devices: DeviceRepository,
    private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    metrics.reportDevicesByPresence(() => this.read());
  }

  read(): Promise<PresenceCounts> {
    if (this.cached && Date.now() < this.cached.until) return Promise.resolve(this.cached.counts);
    this.reading ??= this.count().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async count(): Promise<PresenceCounts> {
    try {
      const counts = await withTimeout(
        this.devices.countByPresence(),
        this.config.DATABASE_TIMEOUT_MS,
        'Counting devices by presence',
      );
      const result = new Map(Object.entries(counts));
      this.cached = { counts: result, until: Date.now() + this.config.METRICS_PRESENCE_CACHE_MS };
      this.failing = false;
      return result;
    } catch (error) {
      // Not cached: the next scrape tries again. Logged once per outage, not once per scrape.
      if (!this.failing) {
        this.logger.warn(`Could not count devices by presence for /metrics: ${String(error)}`);
      }
      this.failing = true;
      this.cached = undefined;
      return null;
    }
  }
}

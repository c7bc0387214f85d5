/** What every scenario uses on this machine (127.0.0.1 only): devices, requests, ports, a run's scratch space. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';

export const HOST = '127.0.0.1';
export const REDIS_URL = `redis://${HOST}:6379`;
export const STARTUP_TIMEOUT_MS = 60_000;
export const DATA_BACKENDS = ['embedded', 'postgres'] as const;
export type DataBackend = (typeof DATA_BACKENDS)[number];

/** A device the benchmark authenticates as: known to the gateway, and to the bare servers through a file. */
export interface BenchDevice {
  deviceId: string;
  secret: string;
  customerId: string;
}

export const basicAuthorization = (device: BenchDevice): string =>
  `Basic ${Buffer.from(`${device.deviceId}:${device.secret}`).toString('base64')}`;

/** A heartbeat as an agent sends it; values differ a little per device, as they would in the field. */
export const heartbeatBody = (index: number): string =>
  JSON.stringify({
    uptimeSec: 86_400 + index * 37,
    agentVersion: '1.4.2',
    metrics: {
      cpuPct: 12.5 + (index % 40),
      memPct: 41.2,
      diskPct: 63,
      tempC: 48.5 + (index % 10),
      load1: 0.42,
    },
    network: { gatewayReachable: true, dnsOk: true, latencyMs: 12.3 + (index % 7) },
  });

/** The keys of a JSON answer, to tell whether two servers answer alike. */
export const shapeOf = (body: unknown): string =>
  Object.keys(body ?? {})
    .sort()
    .join(',');

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      probe.close(() => {
        resolvePort(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  });
}

/** A request whose answer must be `expected` (by default any 2xx); returns the parsed JSON body. */
export async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
  expected?: number,
): Promise<unknown> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (expected === undefined ? !response.ok : response.status !== expected)
    throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${response.status} ${text}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/**
 * What a run owns besides its processes: a temporary directory, and its Redis keys under a prefix of its
 * own, so that runs never see each other's (or anything else's) keys and can delete exactly theirs.
 */
export class RunScratch {
  readonly temp: string;
  readonly prefix: string;
  readonly redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    retryStrategy: () => null,
  });

  constructor(name: string) {
    this.temp = mkdtempSync(join(tmpdir(), `bench-${name}-`));
    this.prefix = `bench-${name}-${randomBytes(4).toString('hex')}:`;
  }

  async connectRedis(): Promise<void> {
    await this.redis.connect().catch((error: unknown) => {
      throw new Error(`Redis is not reachable at ${REDIS_URL} (${String(error)}); see bench/README.md`);
    });
  }

  /** Deletes the run's Redis keys and temporary directory; a failure to delete keys is reported, not thrown. */
  async release(): Promise<void> {
    await this.deleteKeys().catch((error: unknown) => {
      process.stderr.write(`Could not delete the Redis keys ${this.prefix}*: ${String(error)}\n`);
    });
    this.redis.disconnect();
    rmSync(this.temp, { recursive: true, force: true });
  }

  private async deleteKeys(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    let cursor = '0';
    // Bounded: a run makes a few keys per device and server.
    for (let page = 0; page < 1_000; page += 1) {
      const [nextCursor, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 1_000);
      if (keys.length > 0) await this.redis.unlink(...keys);
      cursor = nextCursor;
      if (cursor === '0') return;
    }
  }
}

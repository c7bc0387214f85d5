/**
 * What both benchmarks (bench/heartbeat, bench/sockets) set up the same way: the built gateway and a bare
 * server on this machine, the local Redis, a temporary directory, devices and a customer token, and the
 * results directory.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { type ServerProcess } from './processes';

export const ROOT = resolve(__dirname, '..', '..');
/** Everything the benchmarks talk to is on this machine. */
export const HOST = '127.0.0.1';
export const REDIS_URL = `redis://${HOST}:6379`;
export const STARTUP_TIMEOUT_MS = 60_000;

/** Fails early with the command to run: both benchmarks start the gateway from dist/. */
export function checkBuilt(npmScript: string): void {
  if (!existsSync(join(ROOT, 'dist/main.js')) || !existsSync(join(ROOT, 'dist/cli/dev-token.js'))) {
    throw new Error(`dist/ is missing: run \`npm run build\` first (npm run ${npmScript} does)`);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => {
        resolvePort(port);
      });
    });
  });
}

/** The configuration both servers get alike (each adds its PORT and REDIS_KEY_PREFIX). */
export function serverEnvironment(dataDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST,
    LOG_LEVEL: 'warn',
    CACHE_BACKEND: 'redis',
    REDIS_URL,
    DATA_BACKEND: 'embedded',
    DATA_DIR: dataDir,
  };
}

export async function waitForGatewayReady(gateway: ServerProcess, gatewayUrl: string): Promise<void> {
  await gateway.waitFor(
    'readiness',
    async () => {
      const response = await fetch(`${gatewayUrl}/health/ready`, {
        signal: AbortSignal.timeout(2_000),
      }).catch(() => undefined);
      return response?.status === 200;
    },
    STARTUP_TIMEOUT_MS,
  );
}

/** A customer's bearer token from the built dev-token CLI, against the gateway's embedded database. */
export async function customerToken(
  dataDir: string,
  customerId: string,
  extraArgs: readonly string[] = [],
): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['dist/cli/dev-token.js', '--sub', customerId, ...extraArgs],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH, DATA_BACKEND: 'embedded', DATA_DIR: dataDir },
      timeout: 15_000,
    },
  );
  return stdout.trim();
}

/** A new directory under bench/results/ (ignored by git) for what a run keeps: profiles, snapshots. */
export function createResultsDirectory(benchmark: string): string {
  const directory = join(
    ROOT,
    'bench',
    'results',
    `${benchmark}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
  );
  mkdirSync(directory, { recursive: true });
  return directory;
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

  constructor(tempPrefix: string, keyPrefix: string) {
    this.temp = mkdtempSync(join(tmpdir(), tempPrefix));
    this.prefix = `${keyPrefix}${randomBytes(4).toString('hex')}:`;
  }

  async connectRedis(): Promise<void> {
    await this.redis.connect().catch((error: unknown) => {
      throw new Error(
        `Redis is not reachable at ${REDIS_URL} (${String(error)}); see docs/TESTING.md to start it`,
      );
    });
  }

  /** Deletes the run's Redis keys and temporary directory; a failure to delete keys is reported, not thrown. */
  async release(): Promise<void> {
    await this.deleteKeys().catch((error: unknown) => {
      process.stderr.write(
        `Could not delete the benchmark's Redis keys (${this.prefix}*): ${String(error)}\n`,
      );
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

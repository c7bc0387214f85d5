/**
 * What the two bare servers (bench/heartbeat/bare-server.ts, bench/sockets/bare-server.ts) share: the
 * device credentials check, the gateway's configuration and Redis presence step, and the way they stop.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { type AppConfig } from '../../src/config/app-config';
import { loadConfigFromEnvironment } from '../../src/config/environment';
import { redisOptions } from '../../src/infra/redis/redis-client.provider';
import { RedisPresenceStore } from '../../src/devices/presence/redis-presence.store';
import { timingFor } from '../../src/devices/presence/presence';
import { type BenchDevice } from './bench-device';

/** What the gateway's verification cache holds once each device has authenticated: its secret's keyed hash. */
export class DeviceSecrets {
  // The gateway keeps its pepper in DATA_DIR; a bare server needs only one, not the same one.
  private readonly pepper = randomBytes(32).toString('base64url');
  private readonly hashes = new Map<string, Buffer>();

  constructor(devices: readonly BenchDevice[]) {
    for (const device of devices) this.hashes.set(device.deviceId, this.digest(device.secret));
  }

  /** The presented secret is hashed whether or not the device is known: every attempt costs one HMAC. */
  verify(deviceId: string, secret: string): boolean {
    const stored = this.hashes.get(deviceId);
    const presented = this.digest(secret);
    return stored !== undefined && presented.length === stored.length && timingSafeEqual(presented, stored);
  }

  /** The keyed hash of DeviceCredentialsService. */
  private digest(secret: string): Buffer {
    return createHmac('sha256', this.pepper).update(secret, 'utf8').digest();
  }
}

export interface BareServerSetup {
  config: AppConfig;
  secrets: DeviceSecrets;
  redis: Redis;
  presence: RedisPresenceStore;
  staleAfterMs: number;
  persistIntervalMs: number;
}

/**
 * Reads `--devices <file.json>` (written by run.ts) and the gateway's configuration from the environment,
 * and connects to Redis as the gateway does.
 */
export async function setUpBareServer(): Promise<BareServerSetup> {
  const { values } = parseArgs({ options: { devices: { type: 'string' } } });
  if (!values.devices) throw new Error('--devices <file.json> is required');
  const config = loadConfigFromEnvironment();
  const secrets = new DeviceSecrets(JSON.parse(readFileSync(values.devices, 'utf8')) as BenchDevice[]);
  const redis = new Redis(config.REDIS_URL, redisOptions(config));
  await redis.connect();
  return {
    config,
    secrets,
    redis,
    presence: new RedisPresenceStore(redis),
    staleAfterMs: timingFor(config.HEARTBEAT_INTERVAL_SEC).staleAfterMs,
    persistIntervalMs: config.HEARTBEAT_PERSIST_INTERVAL_SEC * 1000,
  };
}

/** On SIGTERM or SIGINT (run.ts stops the servers with SIGTERM): closes the server, then Redis, then exits. */
export function stopOnSignals(closeServer: () => Promise<void>, redis: Redis): void {
  const stop = async (): Promise<void> => {
    await closeServer();
    await redis.quit().catch(() => {
      redis.disconnect();
    });
    // An explicit exit, so that --cpu-prof writes its profile.
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void stop();
    });
  }
}

/** Runs a bare server's main; a failure is printed for run.ts's error message and exits with 1. */
export function runBareServer(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(
      `bare server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}

/**
 * `npm run bench:auth-timing [-- --tries N] [-- --data-backend postgres]`: how long the built gateway takes
 * to answer a device authentication, by how it ends (wrong secret, unknown id, revoked id, accepted), on
 * 127.0.0.1 only. A refusal that answers faster or slower than another tells a client which it was (does
 * this device id exist?), so the figures to read are the medians side by side. See bench/README.md.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { basicAuthorization, type BenchDevice, heartbeatBody } from '../shared/bench-device';
import { fixed, median, percentile } from '../shared/figures';
import { runToExit } from '../shared/lifecycle';
import {
  checkBuilt,
  customerToken,
  freePort,
  HOST,
  ROOT,
  RunScratch,
  serverEnvironment,
  STARTUP_TIMEOUT_MS,
  waitForGatewayReady,
} from '../shared/local-run';
import { BenchDatabase } from '../shared/postgres-database';
import { ServerProcess } from '../shared/processes';
import { boundedInteger } from '../shared/settings';

const DATA_BACKENDS = ['embedded', 'postgres'] as const;
type DataBackend = (typeof DATA_BACKENDS)[number];

/** What one try presents; every kind but `accepted` is refused with the same 401. */
const KINDS = [
  'wrong_secret',
  'unknown_repeated',
  'revoked_repeated',
  'unknown_fresh',
  'known_fresh',
  'accepted',
] as const;
type Kind = (typeof KINDS)[number];

const KIND_MEANINGS: Record<Kind, string> = {
  wrong_secret: 'a live device id with a wrong secret',
  unknown_repeated: 'one unknown device id, tried again and again',
  revoked_repeated: 'a revoked device id with its old secret',
  unknown_fresh: 'a new random unknown id each try (never seen before)',
  known_fresh: 'a live device id not tried before, with a wrong secret',
  accepted: 'a live device id with its secret (for context)',
};

interface Settings {
  tries: number;
  warmupTries: number;
  dataBackend: DataBackend;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      tries: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'data-backend': { type: 'string', default: 'embedded' },
    },
  });
  const dataBackend = DATA_BACKENDS.find((backend) => backend === values['data-backend']);
  if (dataBackend === undefined) {
    throw new Error(`--data-backend must be embedded or postgres (got "${values['data-backend']}")`);
  }
  return {
    tries: boundedInteger('tries', values.tries, values.quick ? 30 : 300, 10, 5_000),
    warmupTries: values.quick ? 5 : 50,
    dataBackend,
  };
}

async function call(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: await response.text() };
}

/** Fisher-Yates: each round tries every kind once, in a new order, so a drift of the machine hits all alike. */
function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = randomBytes(1).readUInt8(0) % (index + 1);
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

class AuthTimingBench {
  private readonly scratch = new RunScratch('bench-auth-timing-', 'bench-auth-timing-');
  private gateway: ServerProcess | undefined;
  private database: BenchDatabase | undefined;
  private cleaned = false;

  constructor(private readonly settings: Settings) {}

  async run(): Promise<void> {
    const { settings } = this;
    checkBuilt('bench:auth-timing');
    await this.scratch.connectRedis();
    const dataDir = join(this.scratch.temp, 'data');
    const port = await freePort();
    const url = `http://${HOST}:${port}`;
    let env: NodeJS.ProcessEnv = {
      ...serverEnvironment(dataDir),
      PORT: String(port),
      REDIS_KEY_PREFIX: this.scratch.prefix,
    };
    // One device per round for known_fresh, never authenticated before its try.
    const freshCount = settings.tries + settings.warmupTries;
    let live: BenchDevice;
    let revoked: BenchDevice;
    let fresh: BenchDevice[];
    if (settings.dataBackend === 'postgres') {
      const database = new BenchDatabase();
      this.database = database;
      await database.create();
      const created = await database.createDevices(2 + freshCount);
      [live, revoked] = created as [BenchDevice, BenchDevice];
      fresh = created.slice(2);
      await database.revoke(revoked.deviceId);
      env = {
        ...env,
        DATA_BACKEND: 'postgres',
        DATABASE_URL: database.url,
        DEVICE_SECRET_PEPPER: database.pepper,
        // Required by the configuration unless embedded; the device path never calls it.
        SUPABASE_URL: 'http://127.0.0.1:9',
      };
      this.gateway = new ServerProcess('gateway', process.execPath, ['dist/main.js'], { env, cwd: ROOT });
      await waitForGatewayReady(this.gateway, url);
    } else {
      this.gateway = new ServerProcess('gateway', process.execPath, ['dist/main.js'], { env, cwd: ROOT });
      await waitForGatewayReady(this.gateway, url);
      const created = await this.createThroughApi(url, dataDir, freshCount);
      [live, revoked] = created as [BenchDevice, BenchDevice];
      fresh = created.slice(2);
    }

    const unknownId = randomUUID();
    const wrongSecret = (device: BenchDevice): BenchDevice => ({
      ...device,
      secret: randomBytes(32).toString('base64url'),
    });
    const freshDevice = (round: number): BenchDevice => {
      const device = fresh[round];
      if (!device) throw new Error(`No fresh device for round ${round}`);
      return device;
    };
    const attempt = async (kind: Kind, round: number): Promise<number> => {
      const device: BenchDevice =
        kind === 'wrong_secret'
          ? wrongSecret(live)
          : kind === 'known_fresh'
            ? wrongSecret(freshDevice(round))
            : kind === 'unknown_repeated'
              ? { ...live, deviceId: unknownId }
              : kind === 'unknown_fresh'
                ? { ...live, deviceId: randomUUID() }
                : kind === 'revoked_repeated'
                  ? revoked
                  : live;
      const startedAt = performance.now();
      const { status, body } = await call(`${url}/v1/agent/heartbeat`, {
        method: 'POST',
        headers: { authorization: basicAuthorization(device), 'content-type': 'application/json' },
        body: heartbeatBody(0),
      });
      const elapsedMs = performance.now() - startedAt;
      const expected = kind === 'accepted' ? 200 : 401;
      if (status !== expected) throw new Error(`${kind}: expected ${expected}, got ${status} ${body}`);
      return elapsedMs;
    };

    console.log(
      `Device authentication timing: POST /v1/agent/heartbeat, one request at a time over one keep-alive ` +
        `connection, ${settings.warmupTries} warm-up rounds, then ${settings.tries} rounds of one try of ` +
        `each kind in a shuffled order; data backend ${settings.dataBackend}, cache redis`,
    );
    for (let round = 0; round < settings.warmupTries; round += 1) {
      for (const kind of shuffled(KINDS)) await attempt(kind, round);
    }
    const times = new Map<Kind, number[]>(KINDS.map((kind) => [kind, []]));
    for (let round = settings.warmupTries; round < freshCount; round += 1) {
      for (const kind of shuffled(KINDS)) times.get(kind)?.push(await attempt(kind, round));
    }

    const wrongSecretMedian = median(times.get('wrong_secret') ?? []);
    console.log('');
    console.log('  kind                median (ms)   p90 (ms)   / wrong_secret   what it presents');
    for (const kind of KINDS) {
      const own = times.get(kind) ?? [];
      console.log(
        `  ${kind.padEnd(18)} ${fixed(median(own), 3).padStart(11)} ${fixed(percentile(own, 0.9), 3).padStart(10)} ` +
          `${fixed(median(own) / wrongSecretMedian, 2).padStart(16)}   ${KIND_MEANINGS[kind]}`,
      );
    }
  }

  /**
   * Embedded: a customer token from the dev-token CLI, then devices through the API: a live one, one then
   * deleted, and `freshCount` more.
   */
  private async createThroughApi(url: string, dataDir: string, freshCount: number): Promise<BenchDevice[]> {
    const customerId = randomUUID();
    const token = await customerToken(dataDir, customerId);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const devices: BenchDevice[] = [];
    for (let index = 0; index < 2 + freshCount; index += 1) {
      const name = `bench-${index}`;
      const { status, body } = await call(`${url}/v1/devices`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name }),
      });
      if (status !== 201) throw new Error(`POST /v1/devices: HTTP ${status} ${body}`);
      const { credentials } = JSON.parse(body) as { credentials: { deviceId: string; secret: string } };
      devices.push({ ...credentials, customerId });
    }
    const revoked = devices[1] as BenchDevice;
    const { status, body } = await call(`${url}/v1/devices/${revoked.deviceId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    if (status !== 204) throw new Error(`DELETE /v1/devices/:id: HTTP ${status} ${body}`);
    return devices;
  }

  async cleanUp(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    await this.gateway?.stop(5_000);
    const database = this.database;
    await database?.drop().catch((error: unknown) => {
      process.stderr.write(`Could not drop the benchmark's database ${database.name}: ${String(error)}\n`);
    });
    await this.scratch.release();
  }
}

async function main(): Promise<void> {
  const settings = readSettings();
  const bench = new AuthTimingBench(settings);
  // Each try is a few milliseconds; the budget is start-up plus a generous 50 ms per try.
  const budgetMs =
    STARTUP_TIMEOUT_MS * 2 + (settings.tries + settings.warmupTries) * KINDS.length * 50 + 30_000;
  await runToExit(bench, { budgetMs, stopping: 'the gateway' });
}

void main();

/**
 * `npm run bench:heartbeat [-- --quick] [-- --profile] [-- --data-backend postgres]`: authenticated HTTP
 * heartbeats against the built gateway and against a bare Fastify server doing the same work
 * (bare-server.ts), side by side in one run, on 127.0.0.1 only. The figure that matters is the ratio of
 * requests per server CPU-second, gateway / bare. See bench/README.md.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { basicAuthorization, type BenchDevice, heartbeatBody } from '../shared/bench-device';
import {
  monotonicUs,
  printProfileSummary,
  profileFile,
  type ProfileSummary,
  summariseProfile,
  type Window,
} from '../shared/cpu-profile';
import { fixed, median } from '../shared/figures';
import { runToExit } from '../shared/lifecycle';
import {
  checkBuilt,
  createResultsDirectory,
  customerToken,
  freePort,
  HOST,
  ROOT,
  RunScratch,
  serverEnvironment,
  STARTUP_TIMEOUT_MS,
  waitForGatewayReady,
} from '../shared/local-run';
import { cpuSeconds, reserveCpuForServers, ServerProcess } from '../shared/processes';
import { boundedInteger } from '../shared/settings';
import { BenchDatabase } from '../shared/postgres-database';

const TARGET_RATIO = 0.85;
const DATA_BACKENDS = ['embedded', 'postgres'] as const;
type DataBackend = (typeof DATA_BACKENDS)[number];

interface Settings {
  connections: number;
  warmupSec: number;
  durationSec: number;
  rounds: number;
  /** One server at a time (order flipping every round) instead of both at once. */
  alternate: boolean;
  pin: boolean;
  profile: boolean;
  dataBackend: DataBackend;
}

interface Measurement {
  server: ServerName;
  round: number;
  requests: number;
  wallSec: number;
  cpuSec: number;
  rps: number;
  perCpuSec: number;
  p99Ms: number;
  window: Window;
}

type ServerName = 'gateway' | 'bare';

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      alternate: { type: 'boolean', default: false },
      connections: { type: 'string' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      'data-backend': { type: 'string', default: 'embedded' },
    },
  });
  const dataBackend = DATA_BACKENDS.find((backend) => backend === values['data-backend']);
  if (dataBackend === undefined) {
    throw new Error(`--data-backend must be embedded or postgres (got "${values['data-backend']}")`);
  }
  return {
    connections: boundedInteger('connections', values.connections, 32, 1, 256),
    warmupSec: values.quick ? 1 : 5,
    durationSec: boundedInteger('duration', values.duration, values.quick ? 2 : 5, 1, 60),
    rounds: boundedInteger('rounds', values.rounds, values.quick ? 1 : 7, 1, 15),
    alternate: values.alternate,
    pin: !values['no-pin'],
    profile: values.profile,
    dataBackend,
  };
}

async function request(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text for the error message.
  }
  return { status: response.status, body };
}

async function expectOk(what: string, url: string, init: Parameters<typeof request>[1]): Promise<unknown> {
  const { status, body } = await request(url, init);
  if (status < 200 || status >= 300) throw new Error(`${what}: HTTP ${status} ${JSON.stringify(body)}`);
  return body;
}

class Bench {
  private readonly scratch = new RunScratch('bench-heartbeat-', 'bench-hb-');
  private readonly servers: ServerProcess[] = [];
  private serverCpu: string | undefined;
  /** With --data-backend postgres: the run's own database. */
  private database: BenchDatabase | undefined;
  private cleaned = false;

  constructor(private readonly settings: Settings) {}

  async run(): Promise<void> {
    const { settings } = this;
    const { temp, prefix } = this.scratch;
    checkBuilt('bench:heartbeat');
    await this.scratch.connectRedis();
    // Both servers on one CPU, the load generator (this process) on the others: neither server is favoured.
    this.serverCpu = reserveCpuForServers(settings.pin);

    const dataDir = join(temp, 'data');
    const [gatewayPort, barePort] = [await freePort(), await freePort()];
    const commonEnv = serverEnvironment(dataDir);
    const gatewayUrl = `http://${HOST}:${gatewayPort}`;
    const bareUrl = `http://${HOST}:${barePort}`;

    const deviceCount = Math.min(settings.connections, 32);

    let gatewayEnv: NodeJS.ProcessEnv = { ...commonEnv, PORT: String(gatewayPort), REDIS_KEY_PREFIX: prefix };
    let created: BenchDevice[] | undefined;
    if (settings.dataBackend === 'postgres') {
      // The schema and the devices are in place before the gateway starts, as in a deployment.
      const database = new BenchDatabase();
      this.database = database;
      await database.create();
      created = await database.createDevices(deviceCount);
      gatewayEnv = {
        ...gatewayEnv,
        DATA_BACKEND: 'postgres',
        DATABASE_URL: database.url,
        DEVICE_SECRET_PEPPER: database.pepper,
        // Required by the configuration unless embedded; the device path never calls it.
        SUPABASE_URL: 'http://127.0.0.1:9',
      };
    }
    const gateway = this.start('gateway', ['dist/main.js'], gatewayEnv);
    await waitForGatewayReady(gateway, gatewayUrl);

    const devices = created ?? (await this.createDevices(gatewayUrl, dataDir, deviceCount));
    for (const device of devices) await this.register(gatewayUrl, device);
    const devicesFile = join(temp, 'devices.json');
    writeFileSync(devicesFile, JSON.stringify(devices), { mode: 0o600 });
    const bare = this.start(
      'bare',
      ['-r', 'ts-node/register/transpile-only', 'bench/heartbeat/bare-server.ts', '--devices', devicesFile],
      { ...commonEnv, PORT: String(barePort), REDIS_KEY_PREFIX: `${prefix}bare:` },
    );
    await bare.waitFor('"listening on"', (output) => output.includes('listening on'), STARTUP_TIMEOUT_MS);

    const targets: Record<ServerName, { url: string; process: ServerProcess }> = {
      gateway: { url: gatewayUrl, process: gateway },
      bare: { url: bareUrl, process: bare },
    };
    await this.checkSameResponse(targets.gateway.url, targets.bare.url, devices);

    const first = devices[0];
    console.log(
      `Heartbeat benchmark: POST /v1/agent/heartbeat with Basic credentials, ${devices.length} devices, ` +
        `${settings.connections} connections per server, ${settings.warmupSec} s warm-up, then ` +
        `${settings.rounds} × ${settings.durationSec} s, ` +
        (settings.alternate ? 'one server at a time, alternating' : 'both servers loaded at once'),
    );
    console.log(
      settings.dataBackend === 'postgres'
        ? `Gateway data backend: postgres (database ${this.database?.name ?? '?'} on ${HOST}:5432, unpinned)`
        : 'Gateway data backend: embedded (PGlite in the gateway process)',
    );
    console.log(
      this.serverCpu === undefined
        ? 'CPU pinning: none'
        : `CPU pinning: both servers on CPU ${this.serverCpu}, load generator on the others, Redis unpinned`,
    );
    if (settings.profile) console.log('Profiling with --cpu-prof: figures are lower than without it');

    const measureRound = async (round: number, durationSec: number): Promise<Measurement[]> => {
      const measure = (name: ServerName): Promise<Measurement> =>
        this.measure(name, targets[name].url, targets[name].process, durationSec, round, devices);
      if (!settings.alternate) return Promise.all([measure('gateway'), measure('bare')]);
      // Alternating the order cancels a drift (thermal, Redis memory) between the first and second slot.
      const order: ServerName[] = round % 2 === 1 ? ['gateway', 'bare'] : ['bare', 'gateway'];
      const measured: Measurement[] = [];
      for (const name of order) measured.push(await measure(name));
      return measured;
    };
    await measureRound(0, settings.warmupSec);
    const measurements: Measurement[] = [];
    for (let round = 1; round <= settings.rounds; round += 1) {
      for (const measurement of await measureRound(round, settings.durationSec)) {
        measurements.push(measurement);
        console.log(
          `  round ${round}  ${measurement.server.padEnd(7)}  ${fixed(measurement.rps).padStart(8)} req/s  ` +
            `${fixed(measurement.perCpuSec).padStart(8)} req/CPU-s  (${fixed(measurement.cpuSec, 2)} CPU-s ` +
            `in ${fixed(measurement.wallSec, 2)} s)  p99 ${fixed(measurement.p99Ms, 1)} ms`,
        );
      }
    }
    if (first) await this.checkRedisWrites(first.deviceId);
    this.report(measurements);

    if (settings.profile) {
      // Kept for Chrome DevTools or speedscope.
      const kept = createResultsDirectory('heartbeat');
      const summaries: [ServerName, ProfileSummary][] = [];
      for (const name of ['gateway', 'bare'] as const) {
        await targets[name].process.stop();
        const file = profileFile(join(temp, 'profiles', name));
        copyFileSync(file, join(kept, `${name}.cpuprofile`));
        const windows = measurements
          .filter((measurement) => measurement.server === name)
          .map((m) => m.window);
        // With the windows, a profile can be narrowed to the measured rounds again later.
        writeFileSync(join(kept, `${name}.windows.json`), JSON.stringify(windows));
        summaries.push([name, summariseProfile(file, windows)]);
      }
      for (const [name, summary] of summaries) {
        printProfileSummary(
          `${name}: self time during the measured rounds (${fixed(summary.busyMs / 1000, 1)} s busy)`,
          summary,
        );
      }
      console.log(`\nProfiles kept in ${kept}`);
    }
  }

  private start(name: ServerName, args: string[], env: NodeJS.ProcessEnv): ServerProcess {
    const profileDir = join(this.scratch.temp, 'profiles', name);
    if (this.settings.profile) mkdirSync(profileDir, { recursive: true });
    const nodeArgs = [
      ...(this.settings.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ...args,
    ];
    const server =
      this.serverCpu === undefined
        ? new ServerProcess(name, process.execPath, nodeArgs, { env, cwd: ROOT })
        : new ServerProcess(name, 'taskset', ['--cpu-list', this.serverCpu, process.execPath, ...nodeArgs], {
            env,
            cwd: ROOT,
          });
    this.servers.push(server);
    return server;
  }

  /** Through the gateway's own API, as a customer would (embedded only: its tokens are signed locally). */
  private async createDevices(gatewayUrl: string, dataDir: string, count: number): Promise<BenchDevice[]> {
    const customerId = randomUUID();
    const token = await customerToken(dataDir, customerId);
    const devices: BenchDevice[] = [];
    for (let index = 0; index < count; index += 1) {
      const created = (await expectOk('POST /v1/devices', `${gatewayUrl}/v1/devices`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `bench-${index}` }),
      })) as { credentials: { deviceId: string; secret: string } };
      devices.push({ ...created.credentials, customerId });
    }
    return devices;
  }

  /** As the device's agent would, with its credentials. */
  private async register(gatewayUrl: string, device: BenchDevice): Promise<void> {
    await expectOk('POST /v1/agent/register', `${gatewayUrl}/v1/agent/register`, {
      method: 'POST',
      headers: { authorization: basicAuthorization(device), 'content-type': 'application/json' },
      body: JSON.stringify({
        agentVersion: '1.4.2',
        hardware: { model: 'bench' },
        capabilities: ['heartbeat'],
      }),
    });
  }

  /** The comparison is only fair if the bare server answers what the gateway answers. */
  private async checkSameResponse(
    gatewayUrl: string,
    bareUrl: string,
    devices: BenchDevice[],
  ): Promise<void> {
    const device = devices[0];
    if (!device) throw new Error('No device was created');
    const shapes: string[] = [];
    for (const url of [gatewayUrl, bareUrl]) {
      const body = await expectOk('heartbeat', `${url}/v1/agent/heartbeat`, {
        method: 'POST',
        headers: { authorization: basicAuthorization(device), 'content-type': 'application/json' },
        body: heartbeatBody(0),
      });
      shapes.push(
        Object.keys(body as object)
          .sort()
          .join(','),
      );
    }
    if (shapes[0] !== shapes[1])
      throw new Error(`Responses differ: gateway {${shapes[0]}}, bare {${shapes[1]}}`);
  }

  private async measure(
    server: ServerName,
    url: string,
    process_: ServerProcess,
    durationSec: number,
    round: number,
    devices: BenchDevice[],
  ): Promise<Measurement> {
    let next = 0;
    const cpuBefore = cpuSeconds(process_.pid);
    const startedAt = performance.now();
    const startUs = monotonicUs();
    const result = await autocannon({
      url: `${url}/v1/agent/heartbeat`,
      method: 'POST',
      connections: this.settings.connections,
      duration: durationSec,
      timeout: 10,
      renderProgressBar: false,
      renderResultsTable: false,
      renderLatencyTable: false,
      // Each connection is one device: its own credentials and its own heartbeat values.
      setupClient: (client) => {
        const index = next % devices.length;
        next += 1;
        const device = devices[index];
        if (!device) return;
        client.setHeadersAndBody(
          { authorization: basicAuthorization(device), 'content-type': 'application/json' },
          heartbeatBody(index),
        );
      },
    });
    const window = { startUs, endUs: monotonicUs() };
    const wallSec = (performance.now() - startedAt) / 1000;
    const cpuSec = cpuSeconds(process_.pid) - cpuBefore;
    const failed = result.non2xx + result.errors + result.timeouts;
    if (failed > 0 || result.requests.total === 0) {
      throw new Error(
        `${server} ${round === 0 ? 'warm-up' : `round ${round}`}: ${result.non2xx} non-2xx responses, ` +
          `${result.errors} errors, ${result.timeouts} timeouts of ${result.requests.total} ` +
          `(status codes ${JSON.stringify(result.statusCodeStats)}). Every heartbeat must succeed.\n` +
          `Last output of ${server}:\n${process_.recentOutput()}`,
      );
    }
    return {
      server,
      round,
      requests: result.requests.total,
      wallSec,
      cpuSec,
      rps: result.requests.total / wallSec,
      perCpuSec: result.requests.total / cpuSec,
      p99Ms: result.latency.p99,
      window,
    };
  }

  /** Proof that both servers did the Redis work they are credited with. */
  private async checkRedisWrites(deviceId: string): Promise<void> {
    const { prefix: gatewayPrefix, redis } = this.scratch;
    for (const prefix of [gatewayPrefix, `${gatewayPrefix}bare:`]) {
      const [state, heartbeat] = await redis.hmget(`${prefix}presence:${deviceId}`, 'state', 'heartbeat');
      if (state !== 'online' || !heartbeat) {
        throw new Error(
          `No heartbeat recorded in Redis under ${prefix}presence:${deviceId} (state ${String(state)})`,
        );
      }
    }
  }

  private report(measurements: Measurement[]): void {
    const summary = (server: ServerName): { rps: number; perCpuSec: number; p99Ms: number } => {
      const own = measurements.filter((measurement) => measurement.server === server);
      return {
        rps: median(own.map((measurement) => measurement.rps)),
        perCpuSec: median(own.map((measurement) => measurement.perCpuSec)),
        p99Ms: median(own.map((measurement) => measurement.p99Ms)),
      };
    };
    const gateway = summary('gateway');
    const bare = summary('bare');
    console.log('');
    console.log(`Median of ${this.settings.rounds} round(s):   req/s   req/CPU-s   p99 (ms)   non-2xx`);
    for (const [name, figures] of [
      ['gateway', gateway],
      ['bare', bare],
    ] as const) {
      console.log(
        `  ${name.padEnd(20)} ${fixed(figures.rps).padStart(9)} ${fixed(figures.perCpuSec).padStart(11)} ` +
          `${fixed(figures.p99Ms, 1).padStart(10)} ${'0'.padStart(9)}`,
      );
    }
    // Each round's own ratio: a slow phase of the shared machine hits both servers of a round alike.
    const ratios = Array.from({ length: this.settings.rounds }, (_, index) => {
      const perCpuSec = (server: ServerName): number =>
        measurements.find((m) => m.round === index + 1 && m.server === server)?.perCpuSec ?? NaN;
      return perCpuSec('gateway') / perCpuSec('bare');
    });
    const ratio = median(ratios);
    const verdict = ratio >= TARGET_RATIO ? 'meets the target' : 'BELOW the target';
    console.log('');
    console.log(`Gateway / bare per round: ${ratios.map((value) => fixed(value, 2)).join('  ')}`);
    console.log(
      `Gateway / bare, requests per CPU-second (median of the rounds' ratios): ${fixed(ratio, 2)}  ` +
        `(target >= ${TARGET_RATIO}: ${verdict})`,
    );
  }

  /** Idempotent; runs on success, failure, SIGINT/SIGTERM and the overall deadline alike. */
  async cleanUp(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    await Promise.all(this.servers.map((server) => server.stop(5_000)));
    const database = this.database;
    await database?.drop().catch((error: unknown) => {
      process.stderr.write(`Could not drop the benchmark's database ${database.name}: ${String(error)}\n`);
    });
    await this.scratch.release();
  }
}

async function main(): Promise<void> {
  const settings = readSettings();
  const bench = new Bench(settings);
  // Start-up, warm-ups, every measured window and shutdown, with a wide margin: never longer than this.
  const budgetMs =
    STARTUP_TIMEOUT_MS * 2 +
    // Counted as if alternating (each server measured on its own), the longer of the two modes.
    (2 * settings.warmupSec + 2 * settings.rounds * settings.durationSec) * 2_000 +
    60_000;
  await runToExit(bench, { budgetMs, stopping: 'the servers' });
}

void main();

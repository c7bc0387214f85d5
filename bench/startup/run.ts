/**
 * `npm run bench:startup [-- --rounds N]`: how long the built gateway (`node dist/main.js`) takes from
 * spawn to its first `/health/ready` 200, and its resident memory then (VmRSS) and at its peak so far
 * (VmHWM), from /proc/<pid>/status. Three starts per round: the default mode (embedded + memory) on a new
 * DATA_DIR, the same again on that DATA_DIR, and postgres + redis on the local PostgreSQL and Redis.
 * See bench/README.md.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { fixed, median } from '../shared/figures';
import { runToExit } from '../shared/lifecycle';
import {
  checkBuilt,
  freePort,
  HOST,
  REDIS_URL,
  ROOT,
  RunScratch,
  STARTUP_TIMEOUT_MS,
} from '../shared/local-run';
import { BenchDatabase } from '../shared/postgres-database';
import { ServerProcess } from '../shared/processes';
import { boundedInteger } from '../shared/settings';

/** The targets for the default mode, first start and restart alike. */
const TARGET_READY_MS = 2_000;
const TARGET_RSS_MIB = 250;
/** Readiness is polled this often, which is the resolution of the start-up times. */
const POLL_MS = 10;

const STARTS = ['embedded, new DATA_DIR', 'embedded, restart', 'postgres + redis'] as const;
type Start = (typeof STARTS)[number];

interface Figures {
  readyMs: number;
  rssMiB: number;
  peakMiB: number;
}

function memoryMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

const range = (values: number[], digits: number) =>
  `${fixed(median(values), digits)} (${fixed(Math.min(...values), digits)}–${fixed(Math.max(...values), digits)})`;

class Bench {
  private readonly scratch = new RunScratch('bench-startup-', 'bench-startup-');
  private readonly database = new BenchDatabase();
  private readonly servers: ServerProcess[] = [];
  private cleaned = false;

  constructor(private readonly rounds: number) {}

  async run(): Promise<void> {
    checkBuilt('bench:startup');
    await this.scratch.connectRedis();
    await this.database.create();
    console.log(
      `Load average before: ${loadavg()
        .map((load) => fixed(load, 2))
        .join(' ')}`,
    );
    const figures = new Map<Start, Figures[]>(STARTS.map((start) => [start, []]));
    for (let round = 1; round <= this.rounds; round += 1) {
      const dataDir = join(this.scratch.temp, `data-${round}`);
      const embedded = { DATA_DIR: dataDir };
      const postgres = {
        DATA_BACKEND: 'postgres',
        DATABASE_URL: this.database.url,
        DEVICE_SECRET_PEPPER: this.database.pepper,
        // Required outside the embedded mode; only fetched when a customer token arrives, which none does.
        SUPABASE_URL: 'http://127.0.0.1:9',
        CACHE_BACKEND: 'redis',
        REDIS_URL,
        REDIS_KEY_PREFIX: this.scratch.prefix,
      };
      for (const [start, env] of [
        ['embedded, new DATA_DIR', embedded],
        ['embedded, restart', embedded],
        ['postgres + redis', postgres],
      ] as const) {
        const measured = await this.start(`${start} #${round}`, env);
        figures.get(start)?.push(measured);
        console.log(
          `round ${round}  ${start.padEnd(24)} ready ${fixed(measured.readyMs).padStart(5)} ms   ` +
            `RSS ${fixed(measured.rssMiB).padStart(4)} MiB   peak ${fixed(measured.peakMiB).padStart(4)} MiB`,
        );
      }
    }
    console.log(
      `Load average after: ${loadavg()
        .map((load) => fixed(load, 2))
        .join(' ')}`,
    );
    console.log('');
    console.log(`Median (min–max) of ${this.rounds} rounds:`);
    for (const [start, measured] of figures) {
      console.log(
        `  ${start.padEnd(24)} ready ${range(
          measured.map((m) => m.readyMs),
          0,
        )} ms   RSS ${range(
          measured.map((m) => m.rssMiB),
          0,
        )} MiB   peak ${range(
          measured.map((m) => m.peakMiB),
          0,
        )} MiB`,
      );
    }
    console.log(
      `Targets for the embedded starts: ready <= ${TARGET_READY_MS} ms on an idle machine, RSS <= ${TARGET_RSS_MIB} MiB`,
    );
  }

  /** One start of the built gateway, measured, then stopped with SIGTERM as a supervisor would. */
  private async start(name: string, env: Record<string, string>): Promise<Figures> {
    const port = await freePort();
    const started = performance.now();
    const server = new ServerProcess(name, process.execPath, [join(ROOT, 'dist', 'main.js')], {
      env: { PATH: process.env.PATH, HOST, PORT: String(port), LOG_LEVEL: 'warn', ...env },
      cwd: ROOT,
    });
    this.servers.push(server);
    const deadline = started + STARTUP_TIMEOUT_MS;
    for (;;) {
      const response = await fetch(`http://${HOST}:${port}/health/ready`, {
        signal: AbortSignal.timeout(2_000),
      }).catch(() => undefined);
      if (response?.status === 200) break;
      if (!server.running) throw new Error(`${name} exited before it was ready:\n${server.recentOutput()}`);
      if (performance.now() > deadline)
        throw new Error(`${name} was not ready in time:\n${server.recentOutput()}`);
      await sleep(POLL_MS);
    }
    const figures = {
      readyMs: performance.now() - started,
      rssMiB: memoryMiB(server.pid, 'VmRSS'),
      peakMiB: memoryMiB(server.pid, 'VmHWM'),
    };
    await server.stop();
    return figures;
  }

  /** Idempotent; runs on success, failure, SIGINT/SIGTERM and the overall deadline alike. */
  async cleanUp(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    await Promise.all(this.servers.map((server) => server.stop(5_000)));
    await this.database.drop().catch((error: unknown) => {
      process.stderr.write(
        `Could not drop the benchmark's database ${this.database.name}: ${String(error)}\n`,
      );
    });
    await this.scratch.release();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' } } });
  const rounds = boundedInteger('rounds', values.rounds, 5, 1, 20);
  const bench = new Bench(rounds);
  await runToExit(bench, {
    budgetMs: rounds * STARTS.length * (STARTUP_TIMEOUT_MS + 15_000) + 60_000,
    stopping: 'the gateways',
  });
}

void main();

/**
 * bench:startup: how long the built gateway takes from spawn to its first /health/ready 200, and its
 * memory then (VmRSS, and VmHWM, the peak so far). Three starts per round: the default mode (embedded +
 * memory) on a new DATA_DIR, the same again on that DATA_DIR, and postgres + redis.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fixed, printTable, range } from '../runner/figures';
import { freePort, HOST, REDIS_URL, STARTUP_TIMEOUT_MS } from '../runner/local';
import { BenchDatabase } from '../runner/postgres-database';
import { memoryBytes } from '../runner/processes';
import { integerOption, type Run, type Scenario } from '../runner/runner';

const STARTS = ['embedded, new DATA_DIR', 'embedded, restart', 'postgres + redis'] as const;
/** Readiness is polled this often, which is the resolution of the start-up times. */
const POLL_MS = 10;
const MIB = 1024 ** 2;

/** One start of the built gateway, measured, then stopped with SIGTERM as a supervisor would. */
async function measureStart(run: Run, name: string, mode: Record<string, string>): Promise<number[]> {
  const port = await freePort();
  const started = performance.now();
  const env = { PATH: process.env.PATH, HOST, PORT: String(port), LOG_LEVEL: 'warn', ...mode };
  const server = run.child(name, ['dist/main.js'], { env });
  const ready = async (): Promise<boolean> =>
    (
      await fetch(`http://${HOST}:${port}/health/ready`, { signal: AbortSignal.timeout(2_000) }).catch(
        () => undefined,
      )
    )?.status === 200;
  while (!(await ready())) {
    if (!server.running) throw new Error(`${name} exited before it was ready:\n${server.recentOutput()}`);
    if (performance.now() > started + STARTUP_TIMEOUT_MS)
      throw new Error(`${name} was not ready in time:\n${server.recentOutput()}`);
    await sleep(POLL_MS);
  }
  const figures = [
    performance.now() - started,
    memoryBytes(server.pid, 'VmRSS') / MIB,
    memoryBytes(server.pid, 'VmHWM') / MIB,
  ];
  await server.stop();
  return figures;
}

const loadAverage = (): string =>
  loadavg()
    .map((load) => fixed(load, 2))
    .join(' ');

export const startup: Scenario<{ rounds: number }> = {
  name: 'startup',
  compares: false,
  options: { rounds: { type: 'string' } },
  settings: (values) => ({ rounds: integerOption(values, 'rounds', 5, 1, 20) }),
  budgetMs: (settings) => settings.rounds * STARTS.length * (STARTUP_TIMEOUT_MS + 15_000) + 60_000,

  async run(run, { rounds }) {
    const database = new BenchDatabase();
    run.onCleanUp(() => database.drop());
    await database.create();
    console.log(`Load average before: ${loadAverage()}`);
    const figures = new Map<string, number[][]>(STARTS.map((start) => [start, []]));
    for (let round = 1; round <= rounds; round += 1) {
      const embedded = { DATA_DIR: join(run.scratch.temp, `data-${round}`) };
      // SUPABASE_URL is required outside the embedded mode; only fetched for a customer token, which none sends.
      const postgres = {
        DATA_BACKEND: 'postgres',
        DATABASE_URL: database.url,
        DEVICE_SECRET_PEPPER: database.pepper,
      };
      const redis = {
        CACHE_BACKEND: 'redis',
        REDIS_URL,
        REDIS_KEY_PREFIX: run.scratch.prefix,
        SUPABASE_URL: 'http://127.0.0.1:9',
      };
      for (const [start, env] of [
        [STARTS[0], embedded],
        [STARTS[1], embedded],
        [STARTS[2], { ...postgres, ...redis }],
      ] as const) {
        const [readyMs = NaN, rssMiB = NaN, peakMiB = NaN] = await measureStart(
          run,
          `${start} #${round}`,
          env,
        );
        figures.get(start)?.push([readyMs, rssMiB, peakMiB]);
        console.log(
          `round ${round}  ${start.padEnd(24)} ready ${fixed(readyMs).padStart(5)} ms   ` +
            `RSS ${fixed(rssMiB).padStart(4)} MiB   peak ${fixed(peakMiB).padStart(4)} MiB`,
        );
      }
    }
    console.log(`Load average after: ${loadAverage()}\n\nMedian (min–max) of ${rounds} rounds:`);
    const column = (measured: number[][], index: number) => range(measured.map((each) => each[index] ?? NaN));
    printTable([
      ['', 'ready (ms)', 'RSS (MiB)', 'peak (MiB)'],
      ...[...figures].map(([start, measured]) => [
        start,
        column(measured, 0),
        column(measured, 1),
        column(measured, 2),
      ]),
    ]);
    console.log('Targets for the embedded starts: ready <= 2000 ms on an idle machine, RSS <= 250 MiB');
  },
};

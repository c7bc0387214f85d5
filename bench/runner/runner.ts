/**
 * The one runner of every benchmark. A scenario starts its servers, drives the load and reports its
 * figures; the runner parses the options, pins the servers to a CPU of their own, profiles them, runs
 * the warm-up and the measured rounds of a side-by-side comparison (server CPU time from /proc), prints
 * per-round figures, medians and ratios, holds the run to a time budget, and stops whatever was started
 * on success, failure, SIGINT/SIGTERM or past the budget.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { monotonicUs, printProfileSummary, profileFile, type Window } from './cpu-profile';
import { fixed, median } from './figures';
import { RunScratch } from './local';
import { cpuSeconds, killAllNow, NodeChild, type NodeChildOptions } from './processes';
import { reserveCpuForServers, ROOT } from './processes';

export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

export interface RunSettings {
  /** The servers on the last CPU, this process and the load generators on the others. */
  pin: boolean;
  /** The servers under `node --cpu-prof`, summarised over the measured rounds at the end. */
  profile: boolean;
}

export interface Scenario<Settings> {
  /** `npm run bench:<name>`. */
  readonly name: string;
  /** Its command-line options; `--quick` (a smoke run) is the runner's own. */
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** A side-by-side comparison of servers: they are pinned (unless `--no-pin`) and `--profile` is offered. */
  readonly compares: boolean;
  settings(values: OptionValues, quick: boolean): Settings;
  /** Longer than any healthy run: past it the run is stopped and fails. */
  budgetMs(settings: Settings): number;
  run(run: Run, settings: Settings): Promise<void>;
}

/**
 * An integer option within [min, max], or `fallback` when it was not given. Out-of-range values fail
 * rather than being clamped: a benchmark run with other settings than asked for misleads.
 */
export function integerOption(given: OptionValues, name: string, fallback: number, min: number, max: number) {
  const raw = given[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(value) || value < min || value > max)
    throw new Error(`--${name} must be an integer from ${min} to ${max} (got "${String(raw)}")`);
  return value;
}

export function choiceOption<T extends string>(given: OptionValues, name: string, choices: readonly T[]): T {
  const choice = choices.find((candidate) => candidate === given[name]);
  if (choice === undefined)
    throw new Error(`--${name} must be one of ${choices.join(', ')} (got "${String(given[name])}")`);
  return choice;
}

/** What a load generator counted in one window of one server: requests answered, events acked. */
export interface Load {
  count: number;
  p99Ms: number;
  /** Of `count`, those whose payload the server wrote to its database. */
  persisted?: number;
}

export interface Sample<Subject extends string> extends Load {
  subject: Subject;
  /** 0 is the warm-up. */
  round: number;
  /** The subject's server CPU time over the window, from /proc. */
  cpuSec: number;
  wallSec: number;
}

export interface Figure<Subject extends string> {
  label: string;
  digits: number;
  of(sample: Sample<Subject>): number;
}

export interface Comparison<Subject extends string> {
  /** [compared, reference]: the ratios are the first's figure over the second's. */
  subjects: readonly [Subject, Subject];
  /** Each subject's server processes: several (a cluster's instances) have their CPU times summed. */
  servers: Readonly<Record<Subject, NodeChild | readonly NodeChild[]>>;
  /** Both loaded in the same seconds, or one at a time, the order flipping every round. */
  together: boolean;
  warmupSec: number;
  rounds: number;
  durationSec: number;
  load(subject: Subject, durationSec: number, round: number): Promise<Load>;
  /** Printed per round and as medians. */
  figures: readonly Figure<Subject>[];
  /** Each the median of the rounds' own ratios: a slow phase of the machine hits both of a round alike. */
  ratios: readonly {
    label: string;
    of(sample: Sample<Subject>): number;
    target?: { limit: number; atLeast: boolean };
  }[];
}

/** What a scenario is given: its scratch space, its servers and clients, and the comparison rounds. */
export class Run {
  readonly scratch: RunScratch;
  serverCpu: string | undefined;
  private readonly children: NodeChild[] = [];
  /** Each profiled server's profile directory, and the windows to summarise by label. */
  private readonly profiled = new Map<NodeChild, { dir: string; windows: Map<string, Window[]> }>();
  private readonly cleanUps: (() => Promise<void>)[] = [];
  private resultsDir: string | undefined;
  private cleaned = false;

  constructor(
    readonly name: string,
    readonly settings: RunSettings,
  ) {
    this.scratch = new RunScratch(name);
  }

  async start(): Promise<void> {
    if (!existsSync(join(ROOT, 'dist/main.js')) || !existsSync(join(ROOT, 'dist/cli/dev-token.js')))
      throw new Error(`dist/ is missing: run \`npm run build\` first (npm run bench:${this.name} does)`);
    await this.scratch.connectRedis();
    this.serverCpu = reserveCpuForServers(this.settings.pin);
    console.log(
      this.serverCpu === undefined
        ? 'CPU pinning: none'
        : `CPU pinning: servers on CPU ${this.serverCpu}, this runner and its load generators on the others, Redis unpinned`,
    );
    if (this.settings.profile) console.log('Profiling with --cpu-prof: figures are lower than without it');
  }

  /** A server process: pinned to the servers' CPU, and under `--cpu-prof` when profiling. */
  server(name: string, nodeArgs: readonly string[], options: NodeChildOptions): NodeChild {
    const dir = join(this.scratch.temp, 'profiles', name);
    if (this.settings.profile) mkdirSync(dir, { recursive: true });
    const profiling = this.settings.profile ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
    const server = this.child(name, [...profiling, ...nodeArgs], { ...options, cpu: this.serverCpu });
    if (this.settings.profile) this.profiled.set(server, { dir, windows: new Map() });
    return server;
  }

  /** Any other process (load generators), stopped with the run. */
  child(name: string, nodeArgs: readonly string[], options: NodeChildOptions): NodeChild {
    const child = new NodeChild(name, nodeArgs, options);
    this.children.push(child);
    return child;
  }

  /** Run at the end, last registered first, after the processes have stopped. */
  onCleanUp(step: () => Promise<void>): void {
    this.cleanUps.unshift(step);
  }

  /** bench/results/<name>-<time>/ (ignored by git), for what a run keeps: profiles, heap snapshots. */
  results(): string {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    this.resultsDir ??= join(ROOT, 'bench', 'results', `${this.name}-${stamp}`);
    mkdirSync(this.resultsDir, { recursive: true });
    return this.resultsDir;
  }

  /** Runs `work`, and marks its time in the profiles of `servers` under `label`. */
  async profiledWindow<T>(label: string, servers: readonly NodeChild[], work: () => Promise<T>): Promise<T> {
    const startUs = monotonicUs();
    const result = await work();
    for (const server of servers) {
      const windows = this.profiled.get(server)?.windows;
      windows?.set(label, [...(windows.get(label) ?? []), { startUs, endUs: monotonicUs() }]);
    }
    return result;
  }

  async compare<Subject extends string>(comparison: Comparison<Subject>): Promise<Sample<Subject>[]> {
    const { subjects, servers, figures, ratios } = comparison;
    const measure = async (
      subject: Subject,
      round: number,
      durationSec: number,
    ): Promise<Sample<Subject>> => {
      const processes = [servers[subject]].flat();
      const cpu = (): number => processes.reduce((sum, { pid }) => sum + cpuSeconds(pid), 0);
      const cpuBefore = cpu();
      const startedAt = performance.now();
      const load = await (round === 0
        ? comparison.load(subject, durationSec, round)
        : this.profiledWindow('the measured rounds', processes, () =>
            comparison.load(subject, durationSec, round),
          ));
      const wallSec = (performance.now() - startedAt) / 1000;
      return { ...load, subject, round, cpuSec: cpu() - cpuBefore, wallSec };
    };
    const measureRound = async (round: number, durationSec: number): Promise<Sample<Subject>[]> => {
      if (comparison.together)
        return Promise.all(subjects.map((subject) => measure(subject, round, durationSec)));
      // Alternating the order cancels a drift (thermal, Redis memory) between the first and second slot.
      const measured: Sample<Subject>[] = [];
      for (const subject of round % 2 === 1 ? subjects : [...subjects].reverse())
        measured.push(await measure(subject, round, durationSec));
      return measured;
    };
    const row = (first: string, of: (figure: Figure<Subject>) => string): void => {
      const cells = figures.map((figure) => of(figure).padStart(Math.max(figure.label.length, 9) + 2));
      console.log(`  ${first.padEnd(16)}${cells.join('')}`);
    };

    await measureRound(0, comparison.warmupSec);
    row('round  server', (figure) => figure.label);
    const samples: Sample<Subject>[] = [];
    for (let round = 1; round <= comparison.rounds; round += 1) {
      for (const sample of await measureRound(round, comparison.durationSec)) {
        samples.push(sample);
        row(`${String(round).padEnd(5)}  ${sample.subject}`, (figure) =>
          fixed(figure.of(sample), figure.digits),
        );
      }
    }
    console.log(`\nMedian of ${comparison.rounds} round(s):`);
    for (const subject of subjects) {
      const own = samples.filter((sample) => sample.subject === subject);
      row(`       ${subject}`, (figure) =>
        fixed(median(own.map((sample) => figure.of(sample))), figure.digits),
      );
    }
    const [compared, reference] = subjects;
    const name = `${compared.slice(0, 1).toUpperCase()}${compared.slice(1)} / ${reference}`;
    console.log('');
    for (const ratio of ratios) {
      const perRound = Array.from({ length: comparison.rounds }, (_, index) => {
        const of = (subject: Subject): number => {
          const sample = samples.find((each) => each.round === index + 1 && each.subject === subject);
          return sample ? ratio.of(sample) : NaN;
        };
        return of(compared) / of(reference);
      });
      const value = median(perRound);
      const { target } = ratio;
      const missed = target && (target.atLeast ? value < target.limit : value > target.limit);
      const verdict = target
        ? `  (target ${target.atLeast ? '>=' : '<='} ${target.limit}: ` +
          `${missed ? `${target.atLeast ? 'BELOW' : 'ABOVE'} the target` : 'meets the target'})`
        : '';
      console.log(`${name} per round, ${ratio.label}: ${perRound.map((each) => fixed(each, 2)).join('  ')}`);
      console.log(`${name}, ${ratio.label} (median of the rounds' ratios): ${fixed(value, 2)}${verdict}`);
    }
    return samples;
  }

  /** Stops the profiled servers (which writes their profiles), keeps the profiles and prints summaries. */
  async reportProfiles(): Promise<void> {
    if (this.profiled.size === 0) return;
    const kept = this.results();
    for (const [server, { dir, windows }] of this.profiled) {
      await server.stop(30_000);
      const file = profileFile(dir);
      copyFileSync(file, join(kept, `${server.name}.cpuprofile`));
      // With its windows, a profile can be narrowed to the same stretches again later.
      writeFileSync(join(kept, `${server.name}.windows.json`), JSON.stringify(Object.fromEntries(windows)));
      for (const [label, stretches] of windows)
        printProfileSummary(`${server.name}: self time during ${label}`, file, stretches);
    }
    console.log(`\nProfiles kept in ${kept} (Chrome DevTools or speedscope open them)`);
  }

  /** Idempotent; runs on success, failure, SIGINT/SIGTERM and the budget's end alike. */
  async cleanUp(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    await Promise.all(this.children.map((child) => child.stop(10_000)));
    for (const step of this.cleanUps)
      await step().catch((error: unknown) => {
        process.stderr.write(`Clean-up step failed: ${String(error)}\n`);
      });
    await this.scratch.release();
  }
}

/** Runs a scenario and exits: 0 on success, 1 on failure or past its budget, 130 on SIGINT or SIGTERM. */
export async function runScenario<Settings>(scenario: Scenario<Settings>, args: string[]): Promise<void> {
  let settings: Settings;
  let run: Run;
  try {
    const flag = { type: 'boolean', default: false } as const;
    const { values } = parseArgs({
      args,
      options: { ...scenario.options, quick: flag, profile: flag, 'no-pin': flag },
    });
    if (!scenario.compares && (values.profile || values['no-pin']))
      throw new Error(`bench:${scenario.name} compares no servers: it takes neither --profile nor --no-pin`);
    settings = scenario.settings(values, values.quick);
    run = new Run(scenario.name, { pin: scenario.compares && !values['no-pin'], profile: values.profile });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  let exiting = false;
  const exit = async (code: number, message?: string): Promise<void> => {
    if (exiting) return;
    exiting = true;
    if (message) process.stderr.write(`${message}\n`);
    await run.cleanUp().catch((error: unknown) => {
      process.stderr.write(`Clean-up failed: ${String(error)}\n`);
    });
    process.exit(code);
  };
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void exit(130, `\n${signal}: stopping what the benchmark started`));
  const budgetMs = scenario.budgetMs(settings);
  const overBudget = `The benchmark took longer than ${Math.round(budgetMs / 1000)} s`;
  const deadline = setTimeout(() => void exit(1, overBudget), budgetMs);
  try {
    await run.start();
    await scenario.run(run, settings);
    await run.reportProfiles();
    clearTimeout(deadline);
    await exit(0);
  } catch (error) {
    clearTimeout(deadline);
    await exit(1, `Benchmark failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

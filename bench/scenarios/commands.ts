/**
 * bench:commands: the command round trip under an open-loop load, from `POST /v1/sessions/:id/commands
 * ?waitSec=N` to its final answer, with N device sockets answering every command, against the gateway in
 * postgres + redis mode and the bare reference (bench/bare/bare-commands-server.ts) doing the same
 * database writes and the same socket round trip; or, with `--instances 2`, commands that cross from one
 * gateway instance to another against commands that stay on one. The figures are the latency percentiles,
 * commands per server CPU-second, the gateway's event-loop delay, and the commands that never got final.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fixed, percentile } from '../runner/figures';
import { call, shapeOf, STARTUP_TIMEOUT_MS } from '../runner/local';
import { type NodeChild } from '../runner/processes';
import { integerOption, type OptionValues, type Sample, type Scenario } from '../runner/runner';
import { type Gateway, type Server, startBare, startGateway, SUPABASE_URL } from '../runner/servers';
import { type BenchDatabase } from '../runner/postgres-database';
import { type LoadOrder, type LoadReport } from './commands-load';
import { fileLimitFor, SocketClients } from './sockets';

/** Sockets one client process holds; more start more client processes (at most 8). */
const SOCKETS_PER_CLIENT = 2_500;
const TARGETS = { p99: 1.5, perCpuSecond: 0.7, crossingP99: 2 };

const readSettings = (values: OptionValues, quick: boolean) => {
  const instances = integerOption(values, 'instances', 1, 1, 2);
  return {
    devices: integerOption(values, 'devices', quick ? 200 : 10_000, 10, 20_000),
    ratePerSec: integerOption(values, 'rate', quick ? 100 : 1_000, 1, 10_000),
    thinkMs: integerOption(values, 'think-ms', 0, 0, 10_000),
    waitSec: integerOption(values, 'wait-sec', 10, 1, 30),
    warmupSec: quick ? 1 : 5,
    durationSec: integerOption(values, 'duration', quick ? 3 : 10, 1, 60),
    rounds: integerOption(values, 'rounds', quick ? 1 : 3, 1, 9),
    instances,
  };
};
type Settings = ReturnType<typeof readSettings>;

/** What one window of one subject measured, beyond what the runner keeps. */
interface Window extends LoadReport {
  loopDelayP99Ms: number;
}

/**
 * The gateway's event-loop delay p99 since the last read: prom-client's default metrics read a
 * monitorEventLoopDelay histogram and reset it at every scrape of /metrics, which nothing else does here.
 */
async function loopDelayP99Ms(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const value = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1];
  if (value === undefined) throw new Error("The gateway's /metrics has no nodejs_eventloop_lag_p99_seconds");
  return Number(value) * 1000;
}

export const commands: Scenario<Settings> = {
  name: 'commands',
  compares: true,
  options: {
    devices: { type: 'string' },
    rate: { type: 'string' },
    'think-ms': { type: 'string' },
    'wait-sec': { type: 'string' },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    instances: { type: 'string' },
  },

  settings: readSettings,

  // Start-up, devices, sessions and sockets, every window with its grace for late commands, and shutdown.
  budgetMs: ({ devices, warmupSec, durationSec, rounds, waitSec }) =>
    STARTUP_TIMEOUT_MS * 3 +
    devices * 12 +
    2 * (rounds + 1) * (warmupSec + durationSec + waitSec + 45) * 1_000 +
    120_000,

  async run(run, settings) {
    const crossing = settings.instances === 2;
    const clientCount = Math.min(8, Math.ceil(settings.devices / SOCKETS_PER_CLIENT));
    const fileLimit = fileLimitFor(settings.devices, clientCount);
    let sessions: string[] = [];
    let referenceDatabase: BenchDatabase | undefined;
    const setupStarted = performance.now();
    // Silent device sockets are not refreshed in presence during the run: the window is the commands'.
    const options = { env: { HEARTBEAT_INTERVAL_SEC: '600' }, process: { fileLimit } };
    const first = await startGateway(run, {
      ...options,
      name: crossing ? 'gateway-a' : 'gateway',
      dataBackend: 'postgres',
      devices: settings.devices,
      capabilities: ['ping'],
      concurrency: 8,
      async prepare(database, devices) {
        sessions = await database.openSessions(devices, 8);
        if (crossing) return;
        // The reference writes the same tables of a copy: the gateway's clocks never see its rows.
        const copy = await database.copy();
        referenceDatabase = copy;
        run.onCleanUp(() => copy.drop());
      },
    });
    const { devices, database, token } = first;
    if (!database || !token) throw new Error('The gateway started without its database or token');
    const second: Gateway | undefined = crossing
      ? await startGateway(run, {
          ...options,
          name: 'gateway-b',
          dataBackend: 'postgres',
          devices: 0,
          alongside: first,
        })
      : undefined;
    const reference: Server | undefined = referenceDatabase
      ? await startBare(run, 'commands', devices, {
          ...options,
          env: { DATABASE_URL: referenceDatabase.url, SUPABASE_URL, SUPABASE_JWT_SECRET: database.jwtSecret },
        })
      : undefined;

    // Which sockets go where. One instance: every device on the gateway and on the reference. Two: half the
    // devices on A, half on B, commands issued on A, so that rounds alternate commands crossing from A to B
    // with commands staying on A (the one-instance path), with the same cluster running.
    const half = Math.floor(devices.length / 2);
    const clients = new SocketClients(run, clientCount, fileLimit, {
      gateway: second ?? first,
      bare: reference ?? first,
    });
    const agent = { thinkMs: settings.thinkMs };
    if (crossing) {
      await clients.connect('gateway', devices.slice(half), agent);
      await clients.connect('bare', devices.slice(0, half), agent);
    } else {
      await clients.connect('gateway', devices, agent);
      await clients.connect('bare', devices, agent);
    }
    const setupSec = (performance.now() - setupStarted) / 1000;

    type Subject = 'gateway' | 'bare' | 'crossing' | 'local';
    const subjects: readonly [Subject, Subject] = crossing ? ['crossing', 'local'] : ['gateway', 'bare'];
    const targets = {
      gateway: { url: first.url, sessions },
      bare: { url: reference?.url ?? '', sessions },
      crossing: { url: first.url, sessions: sessions.slice(half) },
      local: { url: first.url, sessions: sessions.slice(0, half) },
    };
    const gateways = second ? [first, second] : [first];
    const processes: Record<Subject, NodeChild | NodeChild[]> = {
      gateway: first.process,
      bare: reference?.process ?? first.process,
      crossing: gateways.map((each) => each.process),
      local: gateways.map((each) => each.process),
    };
    const loader = run.child(
      'load',
      ['-r', 'ts-node/register/transpile-only', 'bench/scenarios/commands-load.ts'],
      {
        env: { PATH: process.env.PATH, NODE_ENV: 'production' },
        ipc: true,
      },
    );
    const issue = async (subject: Subject, order: Omit<LoadOrder, 'url' | 'token' | 'sessions'>) => {
      const reply = await loader.request<LoadReport | { type: 'failed'; message: string }>({
        ...order,
        ...targets[subject],
        token,
      } satisfies LoadOrder);
      if (reply.type === 'failed') throw new Error(`load: ${reply.message}`);
      return reply;
    };

    // The comparison is only fair if both answer a command alike: 200 with a succeeded command of one shape.
    const shapes = new Set<string>();
    for (const subject of subjects) {
      const { url, sessions: own } = targets[subject];
      const answer = (await call(
        `${url}/v1/sessions/${own[0] ?? ''}/commands?waitSec=${settings.waitSec}`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ type: 'ping', params: { host: 'example.com', count: 1 } }),
        },
        200,
      )) as { status?: unknown };
      if (answer.status !== 'succeeded')
        throw new Error(`${subject}: a single command did not succeed: ${JSON.stringify(answer)}`);
      shapes.add(shapeOf(answer));
    }
    if (shapes.size !== 1) throw new Error(`Commands differ in shape: ${[...shapes].join(' / ')}`);

    console.log(
      `Command benchmark: ${fixed(devices.length)} device sockets (${clientCount} client process(es), think time ${settings.thinkMs} ms), ` +
        `ping commands at ${fixed(settings.ratePerSec)}/s, open loop, waitSec ${settings.waitSec}, over keep-alive connections; ` +
        (crossing
          ? `two gateway instances on one database and Redis, half the sockets on each, every command issued on A: ` +
            `"crossing" to devices on B, "local" to devices on A; CPU summed over both instances`
          : `gateway (postgres + redis) against the reference (bare Fastify + Socket.IO + pg, a copy of the database)`) +
        `; ${settings.rounds} round(s) of ${settings.durationSec} s per subject, one subject at a time, alternating, after a warm-up ` +
        `(set-up ${fixed(setupSec, 0)} s)`,
    );

    // What each database did per command over the rounds (their own reads of the count included).
    const transactionsBefore = {
      gateway: await database.transactions(),
      reference: (await referenceDatabase?.transactions()) ?? NaN,
    };
    const windows = new Map<string, Window>();
    const keyOf = (subject: string, round: number): string => `${subject}:${round}`;
    const windowOf = (sample: Sample<Subject>): Window => {
      const window = windows.get(keyOf(sample.subject, sample.round));
      if (!window) throw new Error(`No window of ${sample.subject} round ${sample.round}`);
      return window;
    };
    const loopDelay = async (subject: Subject): Promise<number> =>
      subject === 'bare'
        ? NaN
        : Math.max(...(await Promise.all(gateways.map((each) => loopDelayP99Ms(each.url)))));
    const at = (p: number) => (sample: Sample<Subject>) => percentile(windowOf(sample).latenciesMs, p);
    const perCpuSecond = (sample: Sample<Subject>): number => windowOf(sample).sent / sample.cpuSec;
    let nextSession = 1;

    const samples = await run.compare<Subject>({
      subjects,
      servers: { ...processes },
      together: false,
      warmupSec: settings.warmupSec,
      rounds: settings.rounds,
      durationSec: settings.durationSec,
      async load(subject, durationSec, round) {
        await loopDelay(subject);
        const { ratePerSec, waitSec } = settings;
        const window = await issue(subject, { firstSession: nextSession, ratePerSec, durationSec, waitSec });
        nextSession += window.sent;
        windows.set(keyOf(subject, round), { ...window, loopDelayP99Ms: await loopDelay(subject) });
        return { count: window.sent, p99Ms: percentile(window.latenciesMs, 0.99) };
      },
      figures: [
        { label: 'sent', digits: 0, of: (sample) => sample.count },
        { label: 'p50 ms', digits: 1, of: at(0.5) },
        { label: 'p99 ms', digits: 1, of: at(0.99) },
        { label: 'p99.9 ms', digits: 1, of: at(0.999) },
        { label: 'max ms', digits: 1, of: at(1) },
        { label: 'cmd/CPU-s', digits: 0, of: perCpuSecond },
        { label: 'CPU-s', digits: 2, of: (sample) => sample.cpuSec },
        { label: 'wall s', digits: 1, of: (sample) => sample.wallSec },
        { label: 'loop p99 ms', digits: 1, of: (sample) => windowOf(sample).loopDelayP99Ms },
        { label: 'after 202', digits: 0, of: (sample) => windowOf(sample).finalAfterWait },
        { label: 'not final', digits: 0, of: (sample) => windowOf(sample).notFinal },
        { label: 'unanswered', digits: 0, of: (sample) => windowOf(sample).unanswered },
      ],
      ratios: crossing
        ? [
            { label: 'p99 latency', of: at(0.99), target: { limit: TARGETS.crossingP99, atLeast: false } },
            { label: 'p50 latency', of: at(0.5) },
            { label: 'commands per CPU-second', of: perCpuSecond },
          ]
        : [
            { label: 'p50 latency', of: at(0.5) },
            { label: 'p99 latency', of: at(0.99), target: { limit: TARGETS.p99, atLeast: false } },
            { label: 'p99.9 latency', of: at(0.999) },
            { label: 'max latency', of: at(1) },
            {
              label: 'commands per CPU-second',
              of: perCpuSecond,
              target: { limit: TARGETS.perCpuSecond, atLeast: true },
            },
          ],
    });

    // The clients' two groups: the gateway's and the reference's sockets, or those on B and those on A.
    const status = await clients.status('gateway');
    const statusBare = await clients.status('bare');
    const all = [...windows.values()];
    const sum = (of: (window: Window) => number): number =>
      all.reduce((total, window) => total + of(window), 0);
    const notSucceeded = all.flatMap((window) =>
      Object.entries(window.statuses).filter(([final]) => final !== 'succeeded'),
    );
    // The databases say what the answers cannot when a server fell behind: every command they hold, the
    // warm-up's and the checks' included, must end final (a command still running at the end gets a minute).
    const databases: Record<string, BenchDatabase> = referenceDatabase
      ? { gateway: database, reference: referenceDatabase }
      : { gateway: database };
    const open: Record<string, number> = {};
    for (const [name, each] of Object.entries(databases)) {
      open[name] = await each.countOpenCommands();
      for (let second = 0; second < 60 && (open[name] ?? 0) > 0; second += 1) {
        await sleep(1_000);
        open[name] = await each.countOpenCommands();
      }
    }
    const lost = Object.values(open).reduce((total, count) => total + count, 0);
    await sleep(11_000);
    const sentTo = (subject: Subject): number =>
      [...windows]
        .filter(([key]) => key.startsWith(`${subject}:`))
        .reduce((total, [, each]) => total + each.sent, 0);
    const perCommand = (after: number, before: number, sent: number): string =>
      fixed((after - before) / sent, 1);
    console.log(
      `\nDatabase transactions per command over the rounds (pg_stat_database, background work included): ` +
        (referenceDatabase
          ? `gateway ${perCommand(await database.transactions(), transactionsBefore.gateway, sentTo('gateway'))}, ` +
            `reference ${perCommand(await referenceDatabase.transactions(), transactionsBefore.reference, sentTo('bare'))}`
          : `both instances ${perCommand(await database.transactions(), transactionsBefore.gateway, sentTo('crossing') + sentTo('local'))}`),
    );
    console.log(
      `Commands not final in the databases at the end: ${JSON.stringify(open)} (must be 0). ` +
        `Answers, every window: final only after a 202 ${fixed(sum((window) => window.finalAfterWait))}, ` +
        `202 and never final ${fixed(sum((window) => window.notFinal))}, unanswered ${fixed(sum((window) => window.unanswered))}; ` +
        `final other than succeeded: ${notSucceeded.length === 0 ? 'none' : JSON.stringify(notSucceeded)}`,
    );
    console.log(
      `Device side: commands received ${fixed(status.commands.received + statusBare.commands.received)}, ` +
        `results acked ${fixed(status.commands.answered + statusBare.commands.answered)}; sockets closed by a server: ` +
        JSON.stringify({ ...status.dropped, ...statusBare.dropped }),
    );
    console.log(
      crossing
        ? `Targets: crossing p99 <= ${TARGETS.crossingP99} x local p99`
        : `Targets: gateway p99 <= ${TARGETS.p99} x reference p99; commands per CPU-second >= ${TARGETS.perCpuSecond} x reference`,
    );
    const failures = [...status.failures, ...statusBare.failures];
    if (failures.length > 0)
      console.log(`Device-side failures (first few):\n  ${failures.slice(0, 5).join('\n  ')}`);
    const answerFailures = all.flatMap((window) => window.failures).slice(0, 5);
    if (answerFailures.length > 0)
      console.log(`Answers that went wrong (first few):\n  ${answerFailures.join('\n  ')}`);
    if (samples.length === 0) throw new Error('No round was measured');
    if (lost > 0) throw new Error(`${fixed(lost)} command(s) never reached a final state`);
    // Lets the last results' acks go out before the servers stop.
    await sleep(200);
  },
};

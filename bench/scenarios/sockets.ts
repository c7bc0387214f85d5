/**
 * bench:sockets: N idle authenticated device sockets on /agent, then heartbeat events with acks, against
 * the built gateway and the bare Socket.IO server, in the steady state: every second beat of a device is
 * persisted, as with the default intervals. The figures are RSS per idle socket and server CPU per acked
 * heartbeat event, gateway / bare, at a fixed rate or with a closed loop (`--in-flight`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CommandAgentOptions } from '../runner/command-agent';
import { fixed, percentile, printTable } from '../runner/figures';
import { type BenchDevice, DATA_BACKENDS, heartbeatBody, shapeOf, STARTUP_TIMEOUT_MS } from '../runner/local';
import { cpuSeconds, memoryBytes, type NodeChild } from '../runner/processes';
import { choiceOption, integerOption, type OptionValues, type Run, type Sample } from '../runner/runner';
import { type Scenario } from '../runner/runner';
import { type Server as Started, startBare, startGateway } from '../runner/servers';
import { type ClientCommand, type ClientReply, type ClientState, type Server } from './sockets-client';

const SERVERS = ['gateway', 'bare'] as const;
const TARGET_SOCKETS_PER_GIB = 40_000;
const GIB = 1024 ** 3;
/** Sockets one client process holds per server; more sockets start more client processes (at most 8). */
const SOCKETS_PER_CLIENT = 2_500;
/** Both servers carry the memory probe: forced full collections before each reading, heap snapshots. */
const PROBE = ['-r', './bench/runner/memory-probe.cjs'];

const kib = (bytes: number): string => `${fixed(bytes / 1024, 1)} KiB`;
const mib = (bytes: number): string => `${fixed(bytes / 1024 ** 2, 1)} MiB`;

/** RSS after two forced full collections and a short pause (the probe's), with the V8 heap figures. */
async function readMemory(server: NodeChild): Promise<{ rss: number; heapUsed: number; external: number }> {
  const { usage } = await server.request<{ usage: NodeJS.MemoryUsage }>({ type: 'memory' });
  return { rss: memoryBytes(server.pid, 'VmRSS'), heapUsed: usage.heapUsed, external: usage.external };
}

/**
 * The gateway's heartbeat payloads written to its database so far, once its queue is empty: the rows a
 * window's beats caused are written within a flush interval after it, and belong to its CPU time.
 */
async function payloadsWritten(url: string): Promise<number> {
  for (let attempt = 0; attempt < 40; attempt += 1) {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const [queued, written] = [read('presence_payloads_queued'), read('presence_payloads_written_total')];
    if (!Number.isFinite(queued) || !Number.isFinite(written))
      throw new Error(
        "The gateway's /metrics has no presence_payloads_queued or presence_payloads_written_total",
      );
    if (queued === 0) return written;
    await sleep(250);
  }
  throw new Error('The gateway still had heartbeat payloads queued 10 s after the heartbeats stopped');
}

/** CPU-seconds per second the server spends with its sockets connected and silent (timers, pings, Redis). */
async function idleCpuRate(server: NodeChild, seconds: number): Promise<number> {
  const [before, startedAt] = [cpuSeconds(server.pid), performance.now()];
  await sleep(seconds * 1_000);
  return (cpuSeconds(server.pid) - before) / ((performance.now() - startedAt) / 1000);
}

/** The runner's side of the client processes: each command to all of them, their states summed. */
export class SocketClients {
  private readonly clients: NodeChild[];

  constructor(
    run: Run,
    count: number,
    fileLimit: number | undefined,
    private readonly servers: Record<Server, Started>,
  ) {
    const script = ['-r', 'ts-node/register/transpile-only', 'bench/scenarios/sockets-client.ts'];
    const env = { PATH: process.env.PATH, NODE_ENV: 'production' };
    this.clients = Array.from({ length: count }, (_, index) =>
      run.child(`client ${index}`, script, { env, fileLimit, ipc: true }),
    );
  }

  /** `command` to every client, `items` split evenly over them. */
  async all<T>(command: (share: T[]) => ClientCommand, items: readonly T[] = []): Promise<ClientState> {
    const size = Math.ceil(items.length / this.clients.length);
    const replies = await Promise.all(
      this.clients.map((client, index) =>
        client.request<ClientReply>(command(items.slice(index * size, (index + 1) * size))),
      ),
    );
    const beats = { sent: 0, acked: 0, latenciesMs: [] };
    const commands = { received: 0, answered: 0 };
    const total: ClientState = { connected: 0, dropped: {}, failures: [], beats, commands };
    for (const reply of replies) {
      if (reply.type === 'failed') throw new Error(`client: ${reply.message}`);
      total.connected += reply.connected;
      for (const [reason, count] of Object.entries(reply.dropped))
        total.dropped[reason] = (total.dropped[reason] ?? 0) + count;
      total.failures.push(...reply.failures);
      total.beats.sent += reply.beats.sent;
      total.beats.acked += reply.beats.acked;
      // Not spread into push(): a soak's latencies outnumber what a call's arguments may hold.
      for (const latency of reply.beats.latenciesMs) total.beats.latenciesMs.push(latency);
      total.commands.received += reply.commands.received;
      total.commands.answered += reply.commands.answered;
      total.ack ??= reply.ack;
    }
    return total;
  }

  private failure(server: Server, what: string, failures: string[]): Error {
    const output = this.servers[server].process.recentOutput();
    return new Error(
      `${server}: ${what}; first failures:\n  ${failures.slice(0, 5).join('\n  ')}\n${output}`,
    );
  }

  /** With `commands`, the sockets answer the commands they get (bench/runner/command-agent.ts). */
  async connect(
    server: Server,
    devices: readonly BenchDevice[],
    commands?: CommandAgentOptions,
  ): Promise<void> {
    const { url } = this.servers[server];
    const { connected, failures } = await this.all(
      (share) => ({ type: 'connect', server, url, devices: share, concurrency: 32, commands }),
      devices,
    );
    if (connected !== devices.length)
      throw this.failure(server, `${connected} of ${devices.length} sockets connected`, failures);
  }

  status = (server: Server) => this.all(() => ({ type: 'status', server }));
  disconnect = (server: Server) => this.all(() => ({ type: 'disconnect', server }));
  probe = async (server: Server, payload: unknown) =>
    (await this.all(() => ({ type: 'probe', server, payload }))).ack;

  /**
   * Heartbeats for `durationMs`: from `sockets` of the server's sockets every `intervalMs`, or `inFlight`
   * at a time from all of them in turn; every second one of each socket persisted when
   * `presenceKeyPrefix` is given. Fails unless every one is acked.
   */
  async heartbeats(
    server: Server,
    load: { sockets: number; intervalMs: number } | { inFlight: number },
    durationMs: number,
    round: number,
    presenceKeyPrefix?: string,
  ) {
    const each = { type: 'start', server, round, presenceKeyPrefix } as const;
    if ('inFlight' in load)
      await this.all(
        (share): ClientCommand => ({ ...each, inFlight: share.length }),
        [...Array(load.inFlight).keys()],
      );
    else
      await this.all(
        (share): ClientCommand => ({ ...each, intervalMs: load.intervalMs, sockets: share.length }),
        [...Array(load.sockets).keys()],
      );
    await sleep(durationMs);
    const { beats, failures } = await this.all(() => ({ type: 'stop', server }));
    if (beats.acked !== beats.sent || beats.sent === 0)
      throw this.failure(
        server,
        `${beats.acked} of ${beats.sent} heartbeats acked; every one must be`,
        failures,
      );
    return beats;
  }
}

/** Each server needs a file descriptor per socket, each client process two per socket (one per server). */
export function fileLimitFor(sockets: number, clients: number): number | undefined {
  const limits = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  const [soft = NaN, hard = NaN] = [limits?.[1], limits?.[2]].map((limit) =>
    limit === 'unlimited' ? Infinity : Number(limit),
  );
  const needed = Math.max(sockets, Math.ceil(sockets / clients) * 2) + 512;
  if (needed > hard)
    throw new Error(
      `Open-file limit too low: ${fixed(sockets)} sockets need about ${fixed(needed)} file descriptors per ` +
        `process, and the hard limit (ulimit -Hn) is ${fixed(hard)}. Raise it (as root: ulimit -Hn ${needed}, ` +
        'or LimitNOFILE / /etc/security/limits.conf) or pass a smaller --sockets.',
    );
  // Each child raises its own soft limit (ulimit -n is per process) when the inherited one is too low.
  return needed > soft ? needed : undefined;
}

const readSettings = (values: OptionValues, quick: boolean) => {
  const count = integerOption(values, 'sockets', quick ? 200 : 5_000, 10, 20_000);
  const inFlight = integerOption(values, 'in-flight', 0, 1, 5_000);
  if (inFlight > count) throw new Error(`--in-flight ${inFlight} needs at least as many --sockets`);
  return {
    sockets: count,
    /** 0: the fixed rate; N: N sockets in a closed loop, each sending its next beat once acked. */
    inFlight,
    dataBackend: choiceOption(values, 'data-backend', DATA_BACKENDS),
    heartbeatSockets: Math.min(
      count,
      integerOption(values, 'heartbeat-sockets', quick ? 100 : 500, 1, 5_000),
    ),
    intervalMs: 1_000,
    durationSec: integerOption(values, 'duration', quick ? 3 : 10, 1, 60),
    rounds: integerOption(values, 'rounds', quick ? 1 : 3, 1, 9),
    settleSec: integerOption(values, 'settle', quick ? 2 : 10, 0, 120),
  };
};

export const sockets: Scenario<ReturnType<typeof readSettings>> = {
  name: 'sockets',
  compares: true,
  options: {
    sockets: { type: 'string' },
    'heartbeat-sockets': { type: 'string' },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    settle: { type: 'string' },
    'in-flight': { type: 'string' },
    'data-backend': { type: 'string', default: 'embedded' },
  },

  settings: readSettings,

  // Start-up, device creation, connections, settling, every window, heap snapshots and shutdown, with a margin.
  budgetMs: ({ sockets: count, settleSec, durationSec, rounds }) =>
    STARTUP_TIMEOUT_MS * 2 + count * 60 + (settleSec * 2 + durationSec * (2 * rounds + 6)) * 2_000 + 420_000,

  async run(run, settings) {
    const clientCount = Math.min(8, Math.ceil(settings.sockets / SOCKETS_PER_CLIENT));
    const fileLimit = fileLimitFor(settings.sockets, clientCount);
    // No presence refresh of the silent sockets during the run; the persist interval is the default, and
    // the clients make every second beat a persisted one (sockets-client.ts, agePersisted).
    const env = { HEARTBEAT_INTERVAL_SEC: '600' };
    const options = { nodeArgs: PROBE, env, process: { fileLimit, ipc: true } };
    const createStarted = performance.now();
    const gateway = await startGateway(run, {
      ...options,
      dataBackend: settings.dataBackend,
      devices: settings.sockets,
      concurrency: 16,
    });
    const createSec = (performance.now() - createStarted) / 1000;
    const { devices } = gateway;
    const started = { gateway, bare: await startBare(run, 'socket', devices, options) };
    const servers = { gateway: gateway.process, bare: started.bare.process };
    const clients = new SocketClients(run, clientCount, fileLimit, started);
    console.log(
      `Socket benchmark: ${fixed(settings.sockets)} idle device sockets per server on /agent (websocket, auth { deviceId, secret }), ${clientCount} client process(es); ${fixed(devices.length)} devices created through the gateway's API in ${fixed(createSec, 1)} s`,
    );

    // The comparison is only fair if both servers answer the same thing, and refuse the same thing.
    const shapes: string[] = [];
    for (const server of SERVERS) {
      await clients.connect(server, devices.slice(0, 1));
      const good = await clients.probe(server, JSON.parse(heartbeatBody(0)));
      const bad = await clients.probe(server, { uptimeSec: -1, extra: true });
      if (typeof bad !== 'object' || bad === null || !('error' in bad))
        throw new Error(`${server} accepted an invalid heartbeat: ${JSON.stringify(bad)}`);
      shapes.push(shapeOf(good));
      await clients.disconnect(server);
    }
    if (shapes[0] !== shapes[1]) throw new Error(`Acks differ: gateway {${shapes[0]}}, bare {${shapes[1]}}`);

    // Memory: warm both servers' code paths, read the baseline, connect N sockets to each, settle, read.
    const warmup = devices.slice(0, 100);
    for (const server of SERVERS) {
      await clients.connect(server, warmup);
      const load = { sockets: warmup.length, intervalMs: settings.intervalMs };
      await clients.heartbeats(server, load, 1_000, 0);
      await clients.disconnect(server);
    }
    await sleep(1_000);
    const before = { gateway: await readMemory(servers.gateway), bare: await readMemory(servers.bare) };
    const connectSec = { gateway: 0, bare: 0 };
    for (const server of SERVERS) {
      const startedAt = performance.now();
      const label = `${fixed(devices.length)} connections`;
      await run.profiledWindow(label, [servers[server]], () => clients.connect(server, devices));
      connectSec[server] = (performance.now() - startedAt) / 1000;
    }
    await sleep(settings.settleSec * 1_000);
    console.log(
      `\nIdle sockets: ${fixed(settings.sockets)} per server, ${settings.settleSec} s settle, two forced full GCs before each reading; RSS is VmRSS from /proc/<pid>/status`,
    );
    const rows = [
      ['', 'RSS before', 'RSS after', 'RSS/socket', 'V8 heap/socket', 'external/socket', 'connect rate'],
    ];
    const perSocket = { gateway: 0, bare: 0 };
    let gatewayTotal = 0;
    for (const server of SERVERS) {
      const after = await readMemory(servers[server]);
      const { connected, dropped } = await clients.status(server);
      if (Object.keys(dropped).length > 0)
        console.log(
          `WARNING: ${server} closed ${fixed(settings.sockets - connected)} idle socket(s) (${JSON.stringify(dropped)}); figures are per socket still connected (${fixed(connected)})`,
        );
      const growth = (field: keyof typeof after): number =>
        (after[field] - before[server][field]) / connected;
      perSocket[server] = growth('rss');
      if (server === 'gateway') gatewayTotal = connected / (after.rss / GIB);
      const rate = `${fixed(connected / connectSec[server])}/s`;
      const memory = [
        mib(before[server].rss),
        mib(after.rss),
        ...(['rss', 'heapUsed', 'external'] as const).map((field) => kib(growth(field))),
      ];
      rows.push([server, ...memory, rate]);
    }
    printTable(rows);
    console.log('  before, V8 heap used / external (array buffers, WebAssembly memory included):');
    for (const server of SERVERS)
      console.log(
        `    ${server.padEnd(8)} ${mib(before[server].heapUsed)} / ${mib(before[server].external)}`,
      );
    const marginal = GIB / perSocket.gateway;
    const verdict = marginal >= TARGET_SOCKETS_PER_GIB ? 'meets the target' : 'BELOW the target';
    console.log(`\nGateway / bare, RSS per socket: ${fixed(perSocket.gateway / perSocket.bare, 2)}`);
    console.log(
      `Gateway sockets per GiB, from the RSS delta (1 GiB / RSS per socket): ${fixed(marginal)}  (compared with the target >= ${fixed(TARGET_SOCKETS_PER_GIB)}: ${verdict})`,
    );
    console.log(
      `Gateway sockets per GiB, from the total RSS (N / RSS after): ${fixed(gatewayTotal)}  (for context: it includes the process's fixed ${mib(before.gateway.rss)} and falls as N shrinks)`,
    );

    // CPU per heartbeat event, the N sockets still connected.
    const idle = {
      gateway: await idleCpuRate(servers.gateway, settings.durationSec),
      bare: await idleCpuRate(servers.bare, settings.durationSec),
    };
    const rate = (settings.heartbeatSockets * 1000) / settings.intervalMs;
    const load = settings.inFlight
      ? `${fixed(settings.inFlight)} events in flight per server, each acked one followed by the next from the next of the ${fixed(settings.sockets)} sockets (a closed loop)`
      : `${fixed(settings.heartbeatSockets)} of the ${fixed(settings.sockets)} sockets per server send one event each every ${settings.intervalMs} ms (${fixed(rate)} events/s), acked`;
    console.log(
      `\nHeartbeats: ${load}; every second beat of each socket persisted, as in the steady state; ` +
        `${settings.rounds} round(s) of ${settings.durationSec} s per server, alternating, after a warm-up. ` +
        `Idle CPU, sockets connected and silent: gateway ${fixed(idle.gateway * 1000, 1)} ms/s, ` +
        `bare ${fixed(idle.bare * 1000, 1)} ms/s`,
    );
    const presenceKeyPrefix = { gateway: run.scratch.prefix, bare: `${run.scratch.prefix}bare:` };
    const cpuPerEvent = (sample: Sample<Server>): number => (sample.cpuSec / sample.count) * 1e6;
    const netOfIdle = (sample: Sample<Server>): number =>
      ((sample.cpuSec - idle[sample.subject] * sample.wallSec) / sample.count) * 1e6;
    await run.compare<Server>({
      subjects: SERVERS,
      servers,
      together: false,
      warmupSec: 2,
      rounds: settings.rounds,
      durationSec: settings.durationSec,
      async load(server, durationSec, round) {
        const { heartbeatSockets, intervalMs, inFlight } = settings;
        const beating = inFlight ? { inFlight } : { sockets: heartbeatSockets, intervalMs };
        const writtenBefore = server === 'gateway' ? await payloadsWritten(gateway.url) : 0;
        const durationMs = durationSec * 1_000;
        const beats = await clients.heartbeats(server, beating, durationMs, round, presenceKeyPrefix[server]);
        // The bare server writes no database.
        const persisted = server === 'gateway' ? (await payloadsWritten(gateway.url)) - writtenBefore : 0;
        return { count: beats.acked, p99Ms: percentile(beats.latenciesMs, 0.99), persisted };
      },
      figures: [
        { label: 'acked', digits: 0, of: (sample) => sample.count },
        { label: 'CPU-s', digits: 2, of: (sample) => sample.cpuSec },
        { label: 'wall s', digits: 1, of: (sample) => sample.wallSec },
        { label: 'µs CPU/event', digits: 1, of: cpuPerEvent },
        { label: 'net of idle', digits: 1, of: netOfIdle },
        { label: 'p99 ack (ms)', digits: 1, of: (sample) => sample.p99Ms },
        { label: '% persisted', digits: 1, of: (sample) => (100 * (sample.persisted ?? 0)) / sample.count },
      ],
      ratios: [
        {
          label: 'server CPU per acked heartbeat event',
          of: cpuPerEvent,
          target: { limit: 1.25, atLeast: false },
        },
        { label: 'net of idle CPU', of: netOfIdle },
      ],
    });

    const dropped = {
      gateway: (await clients.disconnect('gateway')).dropped,
      bare: (await clients.disconnect('bare')).dropped,
    };
    // Proof that both servers did the Redis work they are credited with.
    for (const keyPrefix of [run.scratch.prefix, `${run.scratch.prefix}bare:`]) {
      const key = `${keyPrefix}presence:${devices[0]?.deviceId ?? ''}`;
      if (!(await run.scratch.redis.hget(key, 'heartbeat')))
        throw new Error(`No heartbeat recorded in Redis under ${key}`);
    }
    if (run.settings.profile) {
      // Heap snapshots without and with N idle sockets, for DevTools' Comparison view (growth by
      // constructor). Taken after the measurements: a snapshot leaves the process's RSS inflated.
      for (const server of SERVERS) {
        // Until the server has worked off what the closed sockets left it (the gateway records each close).
        for (let second = 0; second < 90 && (await idleCpuRate(servers[server], 2)) >= 0.1; second += 2);
        for (const connected of [0, devices.length]) {
          if (connected > 0) await clients.connect(server, devices);
          await sleep(connected > 0 ? settings.settleSec * 1_000 : 0);
          const file = join(run.results(), `${server}-idle-${connected}.heapsnapshot`);
          await servers[server].request({ type: 'heap-snapshot', file });
        }
        await clients.disconnect(server);
      }
      console.log(
        `\nHeap snapshots kept in ${run.results()} (DevTools: Memory, load both, "Comparison" view)`,
      );
    }
    // Reported last, with the server's log: the figures above are still printed (and divided by the
    // sockets actually connected), but a run in which a server closed idle sockets has failed.
    for (const server of SERVERS)
      if (Object.keys(dropped[server]).length > 0)
        throw new Error(
          `${server} closed sockets that should have stayed open (by client-side reason): ` +
            `${JSON.stringify(dropped[server])}\nLast output of ${server}:\n${servers[server].recentOutput()}`,
        );
  },
};

/**
 * `npm run bench:sockets [-- --quick] [-- --sockets N] [-- --profile]`: N idle authenticated device sockets
 * on /agent, then heartbeat events with acks, against the built gateway and against a bare Socket.IO
 * server doing the same work (bare-server.ts), side by side in one run, on 127.0.0.1 only. The figures
 * that matter are RSS per idle socket and server CPU per acked heartbeat event, gateway / bare.
 * See bench/README.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type BenchDevice, heartbeatBody } from '../shared/bench-device';
import { printProfileSummary, summariseProfile } from '../shared/cpu-profile';
import { fixed, median, percentile } from '../shared/figures';
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
import { censusOf, growthPerSocket, type HeapCensus } from './heap-snapshot';
import { InspectorSession, inspectorUrl, type MemoryUsage } from './inspector';
import {
  type ClientCommand,
  type ClientReply,
  type ConnectResult,
  type DisconnectResult,
  type HeartbeatResult,
  type ProbeResult,
  type ServerName,
  type StatusResult,
} from './messages';

const SERVERS: readonly ServerName[] = ['gateway', 'bare'];
const TARGET_SOCKETS_PER_GIB = 40_000;
const TARGET_CPU_RATIO = 1.25;
/** Sockets one client process holds per server; more sockets start more client processes. */
const SOCKETS_PER_CLIENT = 2_500;
const MAX_CLIENTS = 8;
/** File descriptors a process needs beyond one per socket (Redis, PGlite files, inspector, stdio...). */
const FD_MARGIN = 512;
const GIB = 1024 ** 3;

interface Settings {
  sockets: number;
  heartbeatSockets: number;
  intervalMs: number;
  durationSec: number;
  rounds: number;
  settleSec: number;
  pin: boolean;
  profile: boolean;
}

function readSettings(): Settings {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      sockets: { type: 'string' },
      'heartbeat-sockets': { type: 'string' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      settle: { type: 'string' },
    },
  });
  const quick = values.quick;
  const sockets = boundedInteger('sockets', values.sockets, quick ? 200 : 5_000, 10, 20_000);
  return {
    sockets,
    heartbeatSockets: Math.min(
      sockets,
      boundedInteger('heartbeat-sockets', values['heartbeat-sockets'], quick ? 100 : 500, 1, 5_000),
    ),
    intervalMs: 1_000,
    durationSec: boundedInteger('duration', values.duration, quick ? 3 : 10, 1, 60),
    rounds: boundedInteger('rounds', values.rounds, quick ? 1 : 3, 1, 9),
    settleSec: boundedInteger('settle', values.settle, quick ? 2 : 10, 0, 120),
    pin: !values['no-pin'],
    profile: values.profile,
  };
}

/** Soft and hard limits on open files of this process; children inherit them. */
function openFileLimits(): { soft: number; hard: number } {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((row) => row.startsWith('Max open files'));
  const [soft, hard] = (line ?? '')
    .slice('Max open files'.length)
    .trim()
    .split(/\s+/)
    .map((value) => (value === 'unlimited' ? Infinity : Number(value)));
  if (soft === undefined || hard === undefined || Number.isNaN(soft) || Number.isNaN(hard)) {
    throw new Error(`Cannot read the open-file limit from /proc/self/limits: ${String(line)}`);
  }
  return { soft, hard };
}

/** VmRSS of a process, in bytes, from /proc/<pid>/status. */
function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`No VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

const kib = (bytes: number, digits = 1): string => `${fixed(bytes / 1024, digits)} KiB`;
const mib = (bytes: number): string => `${fixed(bytes / 1024 ** 2, 1)} MiB`;

/** A client process (client.ts) with an IPC channel; it answers commands one at a time, in order. */
class ClientProcess {
  private output = '';
  private readonly waiting: { resolve: (reply: ClientReply) => void; reject: (error: Error) => void }[] = [];
  readonly ready: Promise<void>;

  constructor(
    readonly index: number,
    private readonly child: ChildProcess,
  ) {
    const keep = (chunk: string): void => {
      this.output = (this.output + chunk).slice(-16_384);
    };
    child.stdout?.setEncoding('utf8').on('data', keep);
    child.stderr?.setEncoding('utf8').on('data', keep);
    let markReady: () => void = () => undefined;
    this.ready = new Promise((resolveReady) => {
      markReady = resolveReady;
    });
    child.on('message', (reply: ClientReply) => {
      if (reply.type === 'ready') {
        markReady();
        return;
      }
      this.waiting.shift()?.resolve(reply);
    });
    child.once('exit', (code, signal) => {
      const error = new Error(
        `client ${index} exited (${signal ?? String(code)}):\n${this.output || '(no output)'}`,
      );
      for (const waiting of this.waiting.splice(0)) waiting.reject(error);
    });
  }

  async send<T extends ClientReply>(command: ClientCommand, expected: T['type']): Promise<T> {
    const reply = await new Promise<ClientReply>((resolveReply, reject) => {
      this.waiting.push({ resolve: resolveReply, reject });
      this.child.send(command);
    });
    if (reply.type === 'failed') throw new Error(`client ${this.index}: ${reply.message}`);
    if (reply.type !== expected)
      throw new Error(`client ${this.index}: expected ${expected}, got ${reply.type}`);
    return reply as T;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

interface MemoryReading {
  rss: number;
  usage: MemoryUsage;
}

interface IdleMemory {
  before: MemoryReading;
  after: MemoryReading;
  /** Sockets still connected when `after` was read. */
  sockets: number;
  connectSec: number;
}

interface HeartbeatRound {
  server: ServerName;
  round: number;
  sent: number;
  acked: number;
  cpuSec: number;
  wallSec: number;
  cpuUsPerEvent: number;
  p99Ms: number;
}

class Bench {
  private readonly scratch = new RunScratch('bench-sockets-', 'bench-so-');
  private readonly servers = new Map<ServerName, { process: ServerProcess; url: string }>();
  private readonly clients: ClientProcess[] = [];
  /** Read once at start-up: the output kept later may no longer hold it. */
  private readonly inspectors = new Map<ServerName, string>();
  private serverCpu: string | undefined;
  private fileLimit = 0;
  private resultsDir: string | undefined;
  private cleaned = false;

  constructor(private readonly settings: Settings) {}

  async run(): Promise<void> {
    const { settings } = this;
    const { temp, prefix } = this.scratch;
    checkBuilt('bench:sockets');
    const clientCount = Math.min(MAX_CLIENTS, Math.ceil(settings.sockets / SOCKETS_PER_CLIENT));
    this.checkFileLimits(clientCount);
    await this.scratch.connectRedis();
    // Both servers on one CPU, the clients and this process on the others: neither server is favoured.
    this.serverCpu = reserveCpuForServers(settings.pin);
    if (settings.profile) this.resultsDir = createResultsDirectory('sockets');

    const dataDir = join(temp, 'data');
    const commonEnv = {
      ...serverEnvironment(dataDir),
      // No presence refresh of silent sockets during the run, and heartbeat payloads reach the database
      // only on a device's first heartbeat (in the warm-up): the bare server writes no database either.
      HEARTBEAT_INTERVAL_SEC: '600',
      HEARTBEAT_PERSIST_INTERVAL_SEC: '86400',
    };
    const gatewayUrl = `http://${HOST}:${await freePort()}`;
    const gateway = this.start('gateway', ['dist/main.js'], {
      ...commonEnv,
      PORT: new URL(gatewayUrl).port,
      REDIS_KEY_PREFIX: prefix,
    });
    this.servers.set('gateway', { process: gateway, url: gatewayUrl });
    await waitForGatewayReady(gateway, gatewayUrl);

    const createStarted = performance.now();
    const devices = await this.createDevices(gatewayUrl, dataDir, settings.sockets);
    const createSec = (performance.now() - createStarted) / 1000;
    this.recordInspector('gateway');
    const devicesFile = join(temp, 'devices.json');
    writeFileSync(devicesFile, JSON.stringify(devices), { mode: 0o600 });

    const bareUrl = `http://${HOST}:${await freePort()}`;
    const bare = this.start(
      'bare',
      ['-r', 'ts-node/register/transpile-only', 'bench/sockets/bare-server.ts', '--devices', devicesFile],
      { ...commonEnv, PORT: new URL(bareUrl).port, REDIS_KEY_PREFIX: `${prefix}bare:` },
    );
    this.servers.set('bare', { process: bare, url: bareUrl });
    // Not "Debugger listening on", which the inspector prints first.
    await bare.waitFor('"listening on"', (output) => /^listening on /m.test(output), STARTUP_TIMEOUT_MS);
    this.recordInspector('bare');

    for (let index = 0; index < clientCount; index += 1) this.clients.push(this.startClient(index));
    await Promise.all(this.clients.map((client) => client.ready));

    console.log(
      `Socket benchmark: ${fixed(settings.sockets)} idle device sockets per server on /agent (websocket, ` +
        `auth { deviceId, secret }), ${clientCount} client process(es); ${fixed(devices.length)} devices ` +
        `created through the gateway's API in ${fixed(createSec, 1)} s`,
    );
    console.log(
      this.serverCpu === undefined
        ? 'CPU pinning: none'
        : `CPU pinning: both servers on CPU ${this.serverCpu}, clients and runner on the others, Redis unpinned`,
    );
    if (settings.profile) console.log('Profiling: heap snapshots and a CPU profile after the measurements');

    await this.checkSameAck(devices);

    // Memory: warm both servers' code paths, read the baseline, connect N sockets to each, settle, read.
    const warmup = devices.slice(0, Math.min(100, devices.length));
    for (const server of SERVERS) {
      await this.connect(server, warmup);
      await this.heartbeats(server, warmup.length, 1_000, 0);
      await this.disconnect(server);
    }
    await sleep(1_000);
    const baseline = new Map<ServerName, MemoryReading>();
    for (const server of SERVERS) baseline.set(server, await this.readMemory(server));
    const connectSec = new Map<ServerName, number>();
    for (const server of SERVERS) {
      const startedAt = performance.now();
      await this.connect(server, devices);
      connectSec.set(server, (performance.now() - startedAt) / 1000);
    }
    await sleep(settings.settleSec * 1_000);
    const memory = new Map<ServerName, IdleMemory>();
    for (const server of SERVERS) {
      const after = await this.readMemory(server);
      const { connected } = await this.status(server);
      memory.set(server, {
        before: baseline.get(server) as MemoryReading,
        after,
        sockets: connected,
        connectSec: connectSec.get(server) ?? NaN,
      });
    }
    this.reportMemory(memory);

    // CPU per heartbeat event, the N sockets still connected.
    const idleCpu = new Map<ServerName, number>();
    for (const server of SERVERS) idleCpu.set(server, await this.idleCpuRate(server, settings.durationSec));
    console.log('');
    console.log(
      `Heartbeats: ${fixed(settings.heartbeatSockets)} of the ${fixed(settings.sockets)} sockets per server ` +
        `send one event each every ${settings.intervalMs} ms (${fixed((settings.heartbeatSockets * 1000) / settings.intervalMs)} ` +
        `events/s), acked; ${settings.rounds} round(s) of ${settings.durationSec} s per server, alternating, after a warm-up`,
    );
    for (const server of SERVERS) {
      await this.heartbeats(
        server,
        settings.heartbeatSockets,
        Math.max(2, settings.intervalMs / 500) * 1_000,
        0,
      );
    }
    const rounds: HeartbeatRound[] = [];
    for (let round = 1; round <= settings.rounds; round += 1) {
      const order: ServerName[] = round % 2 === 1 ? ['gateway', 'bare'] : ['bare', 'gateway'];
      for (const server of order) {
        const measured = await this.heartbeatRound(server, round);
        rounds.push(measured);
        console.log(
          `  round ${round}  ${server.padEnd(7)}  ${fixed(measured.acked).padStart(6)} acked of ` +
            `${fixed(measured.sent)}  ${fixed(measured.cpuSec, 2)} CPU-s in ${fixed(measured.wallSec, 1)} s  ` +
            `${fixed(measured.cpuUsPerEvent, 1).padStart(7)} µs CPU/event  p99 ack ${fixed(measured.p99Ms, 1)} ms`,
        );
      }
    }
    this.reportCpu(rounds, idleCpu);

    const dropped = new Map<ServerName, Record<string, number>>();
    for (const server of SERVERS) dropped.set(server, await this.disconnect(server));
    const first = devices[0];
    if (first) await this.checkRedisWrites(first.deviceId);

    if (settings.profile) await this.profile(devices);
    // Reported last, with the server's log: the figures above are still printed (and divided by the
    // sockets actually connected), but a run in which a server closed idle sockets has failed.
    for (const [server, reasons] of dropped) {
      if (Object.keys(reasons).length > 0) {
        throw new Error(
          `${server} closed sockets that should have stayed open (by client-side reason): ` +
            `${JSON.stringify(reasons)}\nLast output of ${server}:\n${this.server(server).process.recentOutput()}`,
        );
      }
    }
  }

  private async status(server: ServerName): Promise<{ connected: number; dropped: Record<string, number> }> {
    const results = await Promise.all(
      this.clients.map((client) => client.send<StatusResult>({ type: 'status', server }, 'status')),
    );
    const dropped: Record<string, number> = {};
    for (const result of results) {
      for (const [reason, count] of Object.entries(result.dropped))
        dropped[reason] = (dropped[reason] ?? 0) + count;
    }
    const connected = results.reduce((sum, result) => sum + result.connected, 0);
    if (Object.keys(dropped).length > 0) {
      console.log(
        `WARNING: ${server} closed ${fixed(this.settings.sockets - connected)} idle socket(s) ` +
          `(${JSON.stringify(dropped)}); figures are per socket still connected (${fixed(connected)})`,
      );
    }
    return { connected, dropped };
  }

  private checkFileLimits(clientCount: number): void {
    const { soft, hard } = openFileLimits();
    const perClient = Math.ceil(this.settings.sockets / clientCount) * SERVERS.length;
    const needed = Math.max(this.settings.sockets, perClient) + FD_MARGIN;
    if (needed > hard) {
      throw new Error(
        `Open-file limit too low: ${fixed(this.settings.sockets)} sockets need about ${fixed(needed)} file ` +
          `descriptors per process, and the hard limit (ulimit -Hn) is ${fixed(hard)}. Raise it (as root: ` +
          `ulimit -Hn ${needed}, or LimitNOFILE / /etc/security/limits.conf) or pass a smaller --sockets.`,
      );
    }
    // Each child raises its own soft limit (ulimit -n is per process) when the inherited one is too low.
    this.fileLimit = needed > soft ? needed : 0;
  }

  /** [taskset] [sh -c ulimit -n] node <args>: each wrapper execs the next, so the pid is node's. */
  private command(nodeArgs: string[], pinned: boolean): [string, string[]] {
    let argv = [process.execPath, ...nodeArgs];
    if (this.fileLimit > 0)
      argv = ['/bin/sh', '-c', `ulimit -n ${this.fileLimit} && exec "$0" "$@"`, ...argv];
    if (pinned && this.serverCpu !== undefined) argv = ['taskset', '--cpu-list', this.serverCpu, ...argv];
    const [command = process.execPath, ...args] = argv;
    return [command, args];
  }

  private start(name: ServerName, args: string[], env: NodeJS.ProcessEnv): ServerProcess {
    // The inspector (127.0.0.1, a free port) forces full GCs before memory is read, for both servers alike.
    const [command, commandArgs] = this.command(['--inspect=127.0.0.1:0', ...args], true);
    return new ServerProcess(name, command, commandArgs, { env, cwd: ROOT });
  }

  private startClient(index: number): ClientProcess {
    const [command, args] = this.command(
      ['-r', 'ts-node/register/transpile-only', 'bench/sockets/client.ts'],
      false,
    );
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    return new ClientProcess(index, child);
  }

  private server(name: ServerName): { process: ServerProcess; url: string } {
    const server = this.servers.get(name);
    if (!server) throw new Error(`${name} is not running`);
    return server;
  }

  /** Through the gateway's own API, as a customer would: a token from dev-token, then POST /v1/devices. */
  private async createDevices(gatewayUrl: string, dataDir: string, count: number): Promise<BenchDevice[]> {
    const customerId = randomUUID();
    const token = await customerToken(dataDir, customerId, ['--ttl', '7200']);
    const devices: BenchDevice[] = new Array<BenchDevice>(count);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const index = next;
        next += 1;
        const response = await fetch(`${gatewayUrl}/v1/devices`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `bench-socket-${index}` }),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        if (response.status !== 201 && response.status !== 200) {
          throw new Error(`POST /v1/devices: HTTP ${response.status} ${text}`);
        }
        const created = JSON.parse(text) as { credentials: { deviceId: string; secret: string } };
        devices[index] = { ...created.credentials, customerId };
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    return devices;
  }

  /** The devices split evenly over the client processes: client i holds every i-th slice. */
  private shares<T>(items: readonly T[]): T[][] {
    const size = Math.ceil(items.length / this.clients.length);
    return this.clients.map((_, index) => items.slice(index * size, (index + 1) * size));
  }

  private async connect(server: ServerName, devices: readonly BenchDevice[]): Promise<void> {
    const { url } = this.server(server);
    const shares = this.shares(devices);
    const results = await Promise.all(
      this.clients.map((client, index) =>
        client.send<ConnectResult>(
          { type: 'connect', server, url, devices: shares[index] ?? [], concurrency: 32 },
          'connected',
        ),
      ),
    );
    const connected = results.reduce((sum, result) => sum + result.connected, 0);
    if (connected !== devices.length) {
      const failures = results.flatMap((result) => result.failures).slice(0, 5);
      throw new Error(
        `${server}: ${connected} of ${devices.length} sockets connected; first failures:\n  ` +
          `${failures.join('\n  ')}\nLast output of ${server}:\n${this.server(server).process.recentOutput()}`,
      );
    }
  }

  private async disconnect(server: ServerName): Promise<Record<string, number>> {
    const results = await Promise.all(
      this.clients.map((client) =>
        client.send<DisconnectResult>({ type: 'disconnect', server }, 'disconnected'),
      ),
    );
    const dropped: Record<string, number> = {};
    for (const result of results) {
      for (const [reason, count] of Object.entries(result.dropped))
        dropped[reason] = (dropped[reason] ?? 0) + count;
    }
    return dropped;
  }

  /** Heartbeats from the first `sockets` sockets of each client's group; fails unless every one is acked. */
  private async heartbeats(
    server: ServerName,
    sockets: number,
    durationMs: number,
    round: number,
  ): Promise<HeartbeatResult> {
    const perClient = this.shares(Array.from({ length: sockets }, (_, index) => index)).map(
      (share) => share.length,
    );
    const results = await Promise.all(
      this.clients.map((client, index) =>
        client.send<HeartbeatResult>(
          {
            type: 'heartbeat',
            server,
            sockets: perClient[index] ?? 0,
            intervalMs: this.settings.intervalMs,
            durationMs,
            round,
          },
          'heartbeats',
        ),
      ),
    );
    const total: HeartbeatResult = {
      type: 'heartbeats',
      sent: results.reduce((sum, result) => sum + result.sent, 0),
      acked: results.reduce((sum, result) => sum + result.acked, 0),
      failures: results.flatMap((result) => result.failures),
      latenciesMs: results.flatMap((result) => result.latenciesMs),
    };
    if (total.acked !== total.sent || total.sent === 0) {
      throw new Error(
        `${server}: ${total.acked} of ${total.sent} heartbeats acked; every one must be. First failures:\n  ` +
          `${total.failures.slice(0, 5).join('\n  ')}\nLast output of ${server}:\n` +
          this.server(server).process.recentOutput(),
      );
    }
    return total;
  }

  private async heartbeatRound(server: ServerName, round: number): Promise<HeartbeatRound> {
    const { pid } = this.server(server).process;
    const cpuBefore = cpuSeconds(pid);
    const startedAt = performance.now();
    const result = await this.heartbeats(
      server,
      this.settings.heartbeatSockets,
      this.settings.durationSec * 1_000,
      round,
    );
    const wallSec = (performance.now() - startedAt) / 1000;
    const cpuSec = cpuSeconds(pid) - cpuBefore;
    return {
      server,
      round,
      sent: result.sent,
      acked: result.acked,
      cpuSec,
      wallSec,
      cpuUsPerEvent: (cpuSec / result.acked) * 1e6,
      p99Ms: percentile(result.latenciesMs, 0.99),
    };
  }

  /** Until the server has worked off what closed sockets left it (the gateway records each disconnection). */
  private async waitQuiet(server: ServerName, limitSec = 90): Promise<void> {
    for (let second = 0; second < limitSec; second += 2) {
      if ((await this.idleCpuRate(server, 2)) < 0.1) return;
    }
    console.log(
      `${server} was still busy ${limitSec} s after its sockets closed; taking its snapshot anyway`,
    );
  }

  /** CPU-seconds per second the server spends with its sockets connected and silent (timers, pings, Redis). */
  private async idleCpuRate(server: ServerName, seconds: number): Promise<number> {
    const { pid } = this.server(server).process;
    const before = cpuSeconds(pid);
    const startedAt = performance.now();
    await sleep(seconds * 1_000);
    return (cpuSeconds(pid) - before) / ((performance.now() - startedAt) / 1000);
  }

  private recordInspector(server: ServerName): void {
    const output = this.server(server).process.recentOutput();
    const url = inspectorUrl(output);
    if (!url) throw new Error(`${server}: no inspector URL in its output:\n${output}`);
    this.inspectors.set(server, url);
  }

  private async withInspector<T>(
    server: ServerName,
    use: (session: InspectorSession) => Promise<T>,
  ): Promise<T> {
    const url = this.inspectors.get(server);
    if (!url) throw new Error(`${server}: no inspector URL`);
    const session = await InspectorSession.open(url);
    try {
      return await use(session);
    } finally {
      await session.close();
    }
  }

  /** RSS after two forced full GCs and a short pause, with the V8 heap figures for the breakdown. */
  private readMemory(server: ServerName): Promise<MemoryReading> {
    return this.withInspector(server, async (session) => {
      await session.collectGarbage();
      await sleep(500);
      const usage = await session.memoryUsage();
      return { rss: rssBytes(this.server(server).process.pid), usage };
    });
  }

  private async snapshot(server: ServerName, label: string): Promise<HeapCensus> {
    const file = join(this.resultsDir ?? this.scratch.temp, `${server}-${label}.heapsnapshot`);
    const scripts = await this.withInspector(server, (session) => session.writeHeapSnapshot(file));
    return censusOf(file, scripts);
  }

  /** The same two-sided comparison as the rounds is only fair if both servers answer the same thing. */
  private async checkSameAck(devices: BenchDevice[]): Promise<void> {
    const device = devices.slice(0, 1);
    const [client] = this.clients;
    if (!client || device.length === 0) throw new Error('No client or no device');
    const shapes: string[] = [];
    for (const server of SERVERS) {
      const connected = await client.send<ConnectResult>(
        { type: 'connect', server, url: this.server(server).url, devices: device, concurrency: 1 },
        'connected',
      );
      if (connected.connected !== 1) {
        throw new Error(`${server} refused a device socket: ${connected.failures.join('; ')}`);
      }
      const good = await client.send<ProbeResult>(
        { type: 'probe', server, payload: JSON.parse(heartbeatBody(0)) },
        'probed',
      );
      const bad = await client.send<ProbeResult>(
        { type: 'probe', server, payload: { uptimeSec: -1, extra: true } },
        'probed',
      );
      if (typeof bad.ack !== 'object' || bad.ack === null || !('error' in bad.ack)) {
        throw new Error(`${server} accepted an invalid heartbeat: ${JSON.stringify(bad.ack)}`);
      }
      shapes.push(
        Object.keys(good.ack as object)
          .sort()
          .join(','),
      );
      await client.send<DisconnectResult>({ type: 'disconnect', server }, 'disconnected');
    }
    if (shapes[0] !== shapes[1]) throw new Error(`Acks differ: gateway {${shapes[0]}}, bare {${shapes[1]}}`);
  }

  /** Proof that both servers did the Redis work they are credited with. */
  private async checkRedisWrites(deviceId: string): Promise<void> {
    const { prefix: gatewayPrefix, redis } = this.scratch;
    for (const prefix of [gatewayPrefix, `${gatewayPrefix}bare:`]) {
      const [heartbeat] = await redis.hmget(`${prefix}presence:${deviceId}`, 'heartbeat');
      if (!heartbeat) throw new Error(`No heartbeat recorded in Redis under ${prefix}presence:${deviceId}`);
    }
  }

  private reportMemory(memory: Map<ServerName, IdleMemory>): void {
    const { sockets, settleSec } = this.settings;
    console.log('');
    console.log(
      `Idle sockets: ${fixed(sockets)} per server, ${settleSec} s settle, two forced full GCs (inspector) ` +
        `before each reading; RSS is VmRSS from /proc/<pid>/status`,
    );
    console.log(
      '                RSS before   RSS after   RSS/socket   V8 heap/socket   external/socket   connect rate',
    );
    const perSocket = new Map<ServerName, number>();
    for (const server of SERVERS) {
      const figures = memory.get(server);
      if (!figures) continue;
      const { before, after, sockets } = figures;
      const rss = (after.rss - before.rss) / sockets;
      perSocket.set(server, rss);
      console.log(
        `  ${server.padEnd(10)} ${mib(before.rss).padStart(12)} ${mib(after.rss).padStart(11)} ` +
          `${kib(rss).padStart(12)} ${kib((after.usage.heapUsed - before.usage.heapUsed) / sockets).padStart(16)} ` +
          `${kib((after.usage.external - before.usage.external) / sockets).padStart(17)} ` +
          `${fixed(sockets / figures.connectSec).padStart(10)}/s`,
      );
    }
    const gateway = memory.get('gateway');
    const gatewayDelta = perSocket.get('gateway') ?? NaN;
    const ratio = gatewayDelta / (perSocket.get('bare') ?? NaN);
    const marginal = GIB / gatewayDelta;
    const whole = gateway ? gateway.sockets / (gateway.after.rss / GIB) : NaN;
    const verdict = marginal >= TARGET_SOCKETS_PER_GIB ? 'meets the target' : 'BELOW the target';
    console.log('  before, V8 heap used / external (array buffers, WebAssembly memory included):');
    for (const server of SERVERS) {
      const usage = memory.get(server)?.before.usage;
      if (usage) console.log(`    ${server.padEnd(8)} ${mib(usage.heapUsed)} / ${mib(usage.external)}`);
    }
    console.log('');
    console.log(`Gateway / bare, RSS per socket: ${fixed(ratio, 2)}`);
    console.log(
      `Gateway sockets per GiB, from the RSS delta (1 GiB / RSS per socket): ${fixed(marginal)}  ` +
        `(compared with the target >= ${fixed(TARGET_SOCKETS_PER_GIB)}: ${verdict})`,
    );
    console.log(
      `Gateway sockets per GiB, from the total RSS (N / RSS after): ${fixed(whole)}  (for context: it ` +
        `includes the process's fixed ${gateway ? mib(gateway.before.rss) : '?'} and falls as N shrinks)`,
    );
  }

  private reportCpu(rounds: HeartbeatRound[], idleCpu: Map<ServerName, number>): void {
    const figures = new Map<ServerName, { cpuUs: number; netUs: number; p99Ms: number }>();
    for (const server of SERVERS) {
      const own = rounds.filter((round) => round.server === server);
      const idle = idleCpu.get(server) ?? 0;
      figures.set(server, {
        cpuUs: median(own.map((round) => round.cpuUsPerEvent)),
        netUs: median(own.map((round) => ((round.cpuSec - idle * round.wallSec) / round.acked) * 1e6)),
        p99Ms: median(own.map((round) => round.p99Ms)),
      });
    }
    console.log('');
    console.log(
      `Median of ${this.settings.rounds} round(s):  µs CPU/event   idle CPU (ms/s)   µs CPU/event net of idle   p99 ack (ms)`,
    );
    for (const server of SERVERS) {
      const own = figures.get(server);
      if (!own) continue;
      console.log(
        `  ${server.padEnd(22)} ${fixed(own.cpuUs, 1).padStart(11)} ${fixed((idleCpu.get(server) ?? 0) * 1000, 1).padStart(17)} ` +
          `${fixed(own.netUs, 1).padStart(26)} ${fixed(own.p99Ms, 1).padStart(14)}`,
      );
    }
    const gateway = figures.get('gateway');
    const bare = figures.get('bare');
    if (!gateway || !bare) return;
    const ratio = gateway.cpuUs / bare.cpuUs;
    const verdict = ratio <= TARGET_CPU_RATIO ? 'meets the target' : 'ABOVE the target';
    console.log('');
    console.log(
      `Gateway / bare, server CPU per acked heartbeat event: ${fixed(ratio, 2)}  ` +
        `(target <= ${TARGET_CPU_RATIO}: ${verdict}); net of idle CPU: ${fixed(gateway.netUs / bare.netUs, 2)}`,
    );
  }

  /** Heap growth by constructor per idle socket, and where heartbeat CPU goes: one extra round each. */
  private async profile(devices: BenchDevice[]): Promise<void> {
    const dir = this.resultsDir ?? this.scratch.temp;
    for (const server of SERVERS) {
      // Taken now, after the measurements: a snapshot leaves the process's RSS inflated. All sockets are
      // closed by now; the gateway's device-verification cache still holds the devices, so its entries
      // are not part of the growth below.
      await this.waitQuiet(server);
      const baseline = await this.snapshot(server, 'idle-0');
      const connectProfile = await this.withInspector(server, async (session) => {
        await session.startCpuProfile();
        await this.connect(server, devices);
        return session.stopCpuProfile();
      });
      const connectFile = join(dir, `${server}-connect.cpuprofile`);
      writeFileSync(connectFile, JSON.stringify(connectProfile));
      printProfile(`${server}: self time while ${fixed(devices.length)} sockets connect`, connectFile);
      await sleep(this.settings.settleSec * 1_000);
      const loaded = await this.snapshot(server, `idle-${devices.length}`);
      console.log('');
      console.log(`${server}: V8 heap growth per idle socket, by constructor (self size; top 30)`);
      const rows = growthPerSocket(baseline, loaded, devices.length);
      const total = rows.reduce((sum, row) => sum + row.bytesPerSocket, 0);
      console.log(`  total ${fixed(total)} B per socket`);
      for (const row of rows.slice(0, 30)) {
        console.log(
          `  ${fixed(row.bytesPerSocket).padStart(7)} B  ${fixed(row.countPerSocket, 2).padStart(6)}×  ${row.name}`,
        );
      }
      const profile = await this.withInspector(server, async (session) => {
        await session.startCpuProfile();
        await this.heartbeats(server, this.settings.heartbeatSockets, this.settings.durationSec * 1_000, 99);
        return session.stopCpuProfile();
      });
      const file = join(dir, `${server}-heartbeats.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      printProfile(`${server}: self time during a profiled heartbeat round`, file);
      await this.disconnect(server);
    }
    console.log(`\nHeap snapshots and CPU profiles kept in ${dir}`);
  }

  /** Idempotent; runs on success, failure, SIGINT/SIGTERM and the overall deadline alike. */
  async cleanUp(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const client of this.clients) client.kill();
    await Promise.all([...this.servers.values()].map((server) => server.process.stop(10_000)));
    await this.scratch.release();
  }

  killNow(): void {
    for (const client of this.clients) client.kill();
  }
}

function printProfile(title: string, file: string): void {
  const summary = summariseProfile(file, [{ startUs: 0, endUs: Number.MAX_SAFE_INTEGER }]);
  printProfileSummary(`${title} (${fixed(summary.busyMs / 1000, 2)} s busy)`, summary);
}

async function main(): Promise<void> {
  const settings = readSettings();
  const bench = new Bench(settings);
  // Start-up, device creation, connections, settling, every window, profiling and shutdown, with a wide
  // margin: never longer than this.
  const budgetMs =
    STARTUP_TIMEOUT_MS * 2 +
    settings.sockets * 60 +
    (settings.settleSec * 2 + settings.durationSec * (2 * settings.rounds + 6)) * 2_000 +
    (settings.profile ? 300_000 : 0) +
    120_000;
  await runToExit(bench, {
    budgetMs,
    stopping: 'the servers and clients',
    killNow: () => {
      bench.killNow();
    },
  });
}

void main();

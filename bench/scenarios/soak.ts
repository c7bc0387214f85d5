/**
 * bench:soak: the gateway as deployed (postgres + redis) for M minutes under a steady mixed load: N device
 * sockets heartbeating on a short interval and answering commands, a portal socket per 100 devices (each
 * its own customer) receiving their device and command updates, and an open loop of customer commands.
 * Every minute it reads each instance's memory (after forced collections), event-loop delay, open handles,
 * Redis memory and the commands so far; it fails when RSS or heap grew by more than 10 % from the minute-2
 * reading to the last, when the event-loop delay p99 of a minute from minute 2 on exceeded 20 ms, or when any command did
 * not reach a final state.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { io, type Socket } from 'socket.io-client';
import { createSecretSignedToken } from '../../src/auth/dev-token';
import { fixed, percentile } from '../runner/figures';
import { type BenchDevice, STARTUP_TIMEOUT_MS } from '../runner/local';
import { cpuSeconds, memoryBytes, type NodeChild } from '../runner/processes';
import { integerOption, type OptionValues, type Run, type Scenario } from '../runner/runner';
import { type BenchDatabase } from '../runner/postgres-database';
import { type Gateway, startGateway, SUPABASE_URL } from '../runner/servers';
import { type LoadOrder, type LoadReport } from './commands-load';
import { fileLimitFor, SocketClients } from './sockets';
import { type ClientCommand, type Server as ClientGroup } from './sockets-client';

const SOCKETS_PER_CLIENT = 2_500;
const DEVICES_PER_PORTAL = 100;
const TARGETS = { growth: 0.1, loopDelayP99Ms: 20 };
/**
 * The growth is measured from this minute's reading, and the event-loop delay judged from this minute
 * on: the first two hold the connection storm and warm the caches, pools and JIT.
 */
const BASELINE_MINUTE = 2;
const PROBE = ['-r', './bench/runner/memory-probe.cjs'];
/** The gateway's default, which the soak keeps. */
const COMMAND_ACK_TIMEOUT_SEC = 30;
const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'expired', 'cancelled']);

const mib = (bytes: number): string => fixed(bytes / 1024 ** 2, 1);

const readSettings = (values: OptionValues, quick: boolean) => ({
  minutes: integerOption(values, 'minutes', quick ? 3 : 10, BASELINE_MINUTE + 1, 240),
  devices: integerOption(values, 'devices', quick ? 300 : 10_000, DEVICES_PER_PORTAL, 20_000),
  ratePerSec: integerOption(values, 'rate', quick ? 10 : 50, 1, 1_000),
  heartbeatSec: integerOption(values, 'heartbeat-sec', 5, 1, 60),
  thinkMs: integerOption(values, 'think-ms', 5, 0, 5_000),
  waitSec: integerOption(values, 'wait-sec', 10, 1, 30),
  instances: integerOption(values, 'instances', 1, 1, 2),
  /** A smoke run's "minute". */
  minuteSec: quick ? 15 : 60,
});
type Settings = ReturnType<typeof readSettings>;

/** What the memory probe (bench/runner/memory-probe.cjs) answers. */
interface ProbeReply {
  usage: NodeJS.MemoryUsage;
  eventLoopDelay: { resolutionMs: number; p50Ms: number; p99Ms: number; maxMs: number };
  activeResources: Record<string, number>;
  gc: { count: number; totalMs: number; maxMs: number };
  /** The reading's own two forced collections: wall and CPU time. */
  collections: { ms: number; cpuMs: number };
  stalls: { count: number; totalMs: number; longest: { at: string; gapMs: number; cpuMs: number }[] };
}

interface Reading {
  minute: number;
  rss: number;
  heapUsed: number;
  loopDelay: ProbeReply['eventLoopDelay'];
  handles: Record<string, number>;
  gc: ProbeReply['gc'];
  collections: ProbeReply['collections'];
  stalls: ProbeReply['stalls'];
  /** Server CPU-seconds per second over the minute. */
  cpu: number;
}

async function readInstance(server: NodeChild, minute: number, cpuBefore: number, sinceMs: number) {
  const cpu = (cpuSeconds(server.pid) - cpuBefore) / ((performance.now() - sinceMs) / 1000);
  const reply = await server.request<ProbeReply>({ type: 'memory' });
  const reading: Reading = {
    minute,
    rss: memoryBytes(server.pid, 'VmRSS'),
    heapUsed: reply.usage.heapUsed,
    loopDelay: reply.eventLoopDelay,
    handles: reply.activeResources,
    gc: reply.gc,
    collections: reply.collections,
    stalls: reply.stalls,
    cpu,
  };
  return reading;
}

/**
 * The portals: one socket per customer on /portal, counting every event by name, and the commands whose
 * final `command:updated` arrived.
 */
class Portals {
  readonly events: Record<string, number> = {};
  readonly finalSeen = new Set<string>();
  readonly dropped: Record<string, number> = {};
  private readonly sockets: Socket[] = [];

  async connect(url: string, token: string): Promise<void> {
    const socket = io(`${url}/portal`, {
      path: '/socket.io',
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      auth: { token },
    });
    socket.onAny((event: string, payload?: { id?: unknown; status?: unknown }) => {
      this.events[event] = (this.events[event] ?? 0) + 1;
      if (event === 'command:updated' && typeof payload?.id === 'string' && FINAL.has(String(payload.status)))
        this.finalSeen.add(payload.id);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => {
        socket.once('disconnect', (reason) => {
          if (reason !== 'io client disconnect') this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
        });
        resolve();
      });
      socket.once('connect_error', (error) => {
        socket.close();
        reject(new Error(`A portal socket was refused: ${error.message}`));
      });
    });
    this.sockets.push(socket);
  }

  total = (): number => Object.values(this.events).reduce((sum, count) => sum + count, 0);
  connected = (): number => this.sockets.filter((socket) => socket.connected).length;

  close(): void {
    for (const socket of this.sockets) socket.disconnect();
  }
}

/** The longest a command can stay open here: its ack timeout, three deliveries, its waitSec, a margin. */
const settleLimitMs = (waitSec: number): number => (COMMAND_ACK_TIMEOUT_SEC * 3 + waitSec + 30) * 1_000;

/**
 * The commands in the run's database by status, once none is left open or after settleLimitMs: not final
 * then means lost, or queued for a device that is gone.
 */
async function commandsSettled(database: BenchDatabase, waitSec: number) {
  const startedAt = performance.now();
  const limitMs = settleLimitMs(waitSec);
  for (;;) {
    const byStatus = await database.commandsByStatus();
    const notFinal = Object.entries(byStatus)
      .filter(([status]) => !FINAL.has(status))
      .reduce((sum, [, count]) => sum + count, 0);
    const waitedMs = performance.now() - startedAt;
    const final = Object.entries(byStatus)
      .filter(([status]) => FINAL.has(status))
      .reduce((sum, [, count]) => sum + count, 0);
    if (notFinal === 0 || waitedMs > limitMs)
      return { byStatus, final, notFinal, waitedSec: waitedMs / 1000 };
    await sleep(1_000);
  }
}

export const soak: Scenario<Settings> = {
  name: 'soak',
  compares: false,
  options: {
    minutes: { type: 'string' },
    devices: { type: 'string' },
    rate: { type: 'string' },
    'heartbeat-sec': { type: 'string' },
    'think-ms': { type: 'string' },
    'wait-sec': { type: 'string' },
    instances: { type: 'string' },
  },

  settings: readSettings,

  // Start-up, devices and sessions, sockets, every minute with a late command's grace, the wait for the
  // database's commands to settle, and shutdown.
  budgetMs: ({ devices, minutes, minuteSec, waitSec }) =>
    STARTUP_TIMEOUT_MS * 3 +
    devices * 15 +
    minutes * (minuteSec + waitSec + 110) * 1_000 +
    settleLimitMs(waitSec) +
    180_000,

  async run(run: Run, settings: Settings) {
    const clientCount = Math.min(8, Math.ceil(settings.devices / SOCKETS_PER_CLIENT));
    const fileLimit = fileLimitFor(settings.devices, clientCount);
    const customers = Math.ceil(settings.devices / DEVICES_PER_PORTAL);
    const two = settings.instances === 2;
    // Devices beat at the gateway's interval; payloads are persisted at the default interval (60 s), so
    // every device's payload is written once a minute.
    const options = {
      nodeArgs: PROBE,
      env: { HEARTBEAT_INTERVAL_SEC: String(settings.heartbeatSec) },
      process: { fileLimit, ipc: true },
    };
    let sessions: string[] = [];
    const setupStarted = performance.now();
    const first = await startGateway(run, {
      ...options,
      name: two ? 'gateway-a' : 'gateway',
      dataBackend: 'postgres',
      devices: settings.devices,
      capabilities: ['ping'],
      customers,
      concurrency: 8,
      async prepare(database, devices) {
        sessions = await database.openSessions(devices, 8);
      },
    });
    const { devices, database } = first;
    if (!database) throw new Error('The gateway started without its database');
    const gateways: Gateway[] = [first];
    if (two)
      gateways.push(
        await startGateway(run, {
          ...options,
          name: 'gateway-b',
          dataBackend: 'postgres',
          devices: 0,
          alongside: first,
        }),
      );

    // One token per customer, valid past the run's end (a portal is closed when its token expires).
    const project = { supabaseUrl: SUPABASE_URL, jwtSecret: database.jwtSecret };
    const ttlSec = settings.minutes * (settings.minuteSec + 60) + 3_600;
    const customerIds = [...new Set(devices.map((device) => device.customerId))];
    const tokenOf = new Map<string, string>();
    for (const sub of customerIds) tokenOf.set(sub, await createSecretSignedToken(project, { sub, ttlSec }));
    const tokens = devices.map((device) => tokenOf.get(device.customerId) ?? '');

    // The clients' two groups are the instances' (named after bench:sockets' two servers): with two
    // instances, half the devices on each; commands are issued on the first instance.
    const groups: ClientGroup[] = two ? ['gateway', 'bare'] : ['gateway'];
    const clients = new SocketClients(run, clientCount, fileLimit, {
      gateway: first,
      bare: gateways[1] ?? first,
    });
    const half = Math.ceil(devices.length / 2);
    const devicesOf = (group: ClientGroup): BenchDevice[] =>
      !two ? devices : group === 'gateway' ? devices.slice(0, half) : devices.slice(half);
    for (const group of groups) await clients.connect(group, devicesOf(group), { thinkMs: settings.thinkMs });
    const portals = new Portals();
    for (const [index, sub] of customerIds.entries()) {
      const gateway = gateways[index % gateways.length] ?? first;
      await portals.connect(gateway.url, tokenOf.get(sub) ?? '');
    }
    for (const group of groups)
      await clients.all(
        (share): ClientCommand => ({
          type: 'start',
          server: group,
          round: 0,
          intervalMs: settings.heartbeatSec * 1_000,
          sockets: share.length,
        }),
        [...devicesOf(group).keys()],
      );
    const loader = run.child(
      'load',
      ['-r', 'ts-node/register/transpile-only', 'bench/scenarios/commands-load.ts'],
      { env: { PATH: process.env.PATH, NODE_ENV: 'production' }, ipc: true },
    );
    const setupSec = (performance.now() - setupStarted) / 1000;

    const minuteLabel =
      settings.minuteSec === 60 ? 'minutes' : `"minutes" of ${settings.minuteSec} s (--quick)`;
    console.log(
      `Soak: ${settings.minutes} ${minuteLabel}; ${gateways.length} gateway instance(s), postgres + redis ` +
        `(memory probe, unpinned); ${fixed(devices.length)} device sockets in ${clientCount} client process(es) ` +
        `heartbeating every ${settings.heartbeatSec} s (HEARTBEAT_INTERVAL_SEC, persist interval the default) and ` +
        `answering commands after ${settings.thinkMs} ms; ${fixed(customers)} customers of ${DEVICES_PER_PORTAL} ` +
        `devices, a portal socket each; ping commands at ${settings.ratePerSec}/s, open loop, waitSec ` +
        `${settings.waitSec}` +
        (two ? ', issued on instance A, half the devices (and portals) on each instance' : '') +
        ` (set-up ${fixed(setupSec)} s)`,
    );
    console.log(
      'Per instance and minute: RSS and V8 heap used after two forced full collections; event-loop delay ' +
        '(monitorEventLoopDelay, 1 ms resolution, included in each value) over the minute; active handles ' +
        "and requests; garbage-collection pauses (total and longest), and the reading's own forced ones (ms, " +
        "not in the minute's figures); server CPU-s per s; stalls (a 50 ms " +
        'timer late by more than 250 ms) with the CPU time the process itself used in them. Redis used_memory is the whole server (shared with anything else ' +
        "on it). Commands: issued, final and not final so far; the minute's p99 to the final answer.",
    );
    const header = [
      'min',
      'instance',
      'RSS MiB',
      'heap MiB',
      'loop p50',
      'loop p99',
      'loop max',
      'handles',
      'GC ms',
      'GC max',
      'probe GC',
      'CPU',
      'Redis MiB',
      'issued',
      'final',
      'not final',
      'cmd p99 ms',
      'portal ev',
    ];
    const widths = header.map((label) => Math.max(label.length, 9));
    const row = (cells: readonly string[]): void => {
      console.log(`  ${cells.map((cell, index) => cell.padStart(widths[index] ?? 9)).join(' ')}`);
    };
    row(header);

    const readings = new Map<string, Reading[]>(gateways.map((gateway) => [gateway.process.name, []]));
    const commands = { issued: 0, final: 0, notFinal: 0, afterWait: 0, failures: [] as string[] };
    const statuses: Record<string, number> = {};
    let cpuMarks = gateways.map((gateway) => cpuSeconds(gateway.process.pid));
    let markedAt = performance.now();
    let portalEventsBefore = portals.total();
    const read = async (minute: number, window?: LoadReport): Promise<void> => {
      const redisMemory = /^used_memory:(\d+)/m.exec(await run.scratch.redis.info('memory'))?.[1];
      const portalEvents = portals.total();
      for (const [index, gateway] of gateways.entries()) {
        const reading = await readInstance(gateway.process, minute, cpuMarks[index] ?? 0, markedAt);
        readings.get(gateway.process.name)?.push(reading);
        const handles = Object.values(reading.handles).reduce((sum, count) => sum + count, 0);
        const { p50Ms, p99Ms, maxMs } = reading.loopDelay;
        const commandCells =
          index === 0
            ? [
                fixed(commands.issued),
                fixed(commands.final),
                fixed(commands.notFinal),
                window ? fixed(percentile(window.latenciesMs, 0.99), 1) : '',
                fixed(portalEvents - portalEventsBefore),
              ]
            : ['', '', '', '', ''];
        row([
          String(minute),
          gateway.process.name,
          mib(reading.rss),
          mib(reading.heapUsed),
          fixed(p50Ms, 1),
          fixed(p99Ms, 1),
          fixed(maxMs, 1),
          fixed(handles),
          fixed(reading.gc.totalMs),
          fixed(reading.gc.maxMs, 1),
          fixed(reading.collections.ms),
          minute === 0 ? '' : fixed(reading.cpu, 2),
          index === 0 ? mib(Number(redisMemory)) : '',
          ...commandCells,
        ]);
        const byType = Object.entries(reading.handles)
          .sort(([, a], [, b]) => b - a)
          .map(([type, count]) => `${type} ${fixed(count)}`);
        console.log(`      handles: ${byType.join(', ')}`);
        const { count, totalMs, longest } = reading.stalls;
        const described = longest.map(
          ({ at, gapMs, cpuMs }) =>
            `${fixed(gapMs)} ms (${fixed(cpuMs)} ms own CPU, ending ${at.slice(11, 19)})`,
        );
        if (count > 0)
          console.log(
            `      stalls: ${fixed(count)}, ${fixed(totalMs)} ms in all; longest ${described.join(', ')}`,
          );
      }
      portalEventsBefore = portalEvents;
      cpuMarks = gateways.map((gateway) => cpuSeconds(gateway.process.pid));
      markedAt = performance.now();
    };

    // Minute 0: the state once everything is connected and beating; it also starts every probe's minute.
    await read(0);
    let nextSession = 0;
    for (let minute = 1; minute <= settings.minutes; minute += 1) {
      const order: LoadOrder = {
        url: first.url,
        token: tokens[0] ?? '',
        tokens,
        sessions,
        firstSession: nextSession,
        ratePerSec: settings.ratePerSec,
        durationSec: settings.minuteSec,
        waitSec: settings.waitSec,
      };
      const window = await loader.request<LoadReport | { type: 'failed'; message: string }>(order);
      if (window.type === 'failed') throw new Error(`load: ${window.message}`);
      nextSession += window.sent;
      commands.issued += window.sent;
      commands.final += window.latenciesMs.length + window.finalAfterWait;
      commands.afterWait += window.finalAfterWait;
      // Seen final by none of the customer's reads: answered 202 and still open, or not answered at all.
      commands.notFinal += window.notFinal + window.unanswered;
      commands.failures.push(...window.failures.slice(0, 10 - commands.failures.length));
      for (const [status, count] of Object.entries(window.statuses))
        statuses[status] = (statuses[status] ?? 0) + count;
      await read(minute, window);
    }

    // The database's word: a command the load saw fail (a timeout, an error) may still have ended, and one
    // it saw end must be final there too. The clocks (ack timeout, execution, expiry) end whatever is left.
    const inDatabase = await commandsSettled(database, settings.waitSec);

    const beats = { sent: 0, acked: 0 };
    const deviceSide = { received: 0, answered: 0, connected: 0, failures: [] as string[] };
    const dropped: Record<string, number> = {};
    for (const group of groups) {
      const state = await clients.all(() => ({ type: 'stop', server: group }));
      beats.sent += state.beats.sent;
      beats.acked += state.beats.acked;
      deviceSide.received += state.commands.received;
      deviceSide.answered += state.commands.answered;
      deviceSide.connected += state.connected;
      deviceSide.failures.push(...state.failures);
      for (const [reason, count] of Object.entries(state.dropped))
        dropped[reason] = (dropped[reason] ?? 0) + count;
    }
    // A final update still on its way when the last window returned.
    await sleep(1_000);
    const portalsConnected = portals.connected();
    portals.close();

    console.log(
      `\nCommands, as the customers saw them: issued ${fixed(commands.issued)}, answered final ` +
        `${fixed(commands.final)} (${fixed(commands.afterWait)} only after a 202), never seen final (no answer, ` +
        `an error) ${fixed(commands.notFinal)} (must be 0); final statuses ${JSON.stringify(statuses)}`,
    );
    console.log(
      `Devices: heartbeats sent ${fixed(beats.sent)}, acked ${fixed(beats.acked)}; commands received ` +
        `${fixed(deviceSide.received)}, results acked ${fixed(deviceSide.answered)}; sockets still connected ` +
        `${fixed(deviceSide.connected)} of ${fixed(devices.length)}, closed by the server ${JSON.stringify(dropped)}`,
    );
    console.log(
      `Portals: ${portalsConnected} of ${customerIds.length} still connected at the end, closed by the ` +
        `server ${JSON.stringify(portals.dropped)}; events ${JSON.stringify(portals.events)}; final ` +
        `command:updated seen for ${fixed(portals.finalSeen.size)} of the ${fixed(inDatabase.final)} final in the database`,
    );
    console.log(
      `Database: commands by status ${JSON.stringify(inDatabase.byStatus)}; not final ` +
        `${fixed(inDatabase.notFinal)} after waiting up to ${fixed(inDatabase.waitedSec)} s (must be 0)`,
    );
    if (deviceSide.failures.length > 0)
      console.log(`Device-side failures (first few):\n  ${deviceSide.failures.slice(0, 5).join('\n  ')}`);

    const problems: string[] = [];
    for (const [name, own] of readings) {
      const baseline = own.find((reading) => reading.minute === BASELINE_MINUTE);
      const last = own.at(-1);
      if (!baseline || !last) throw new Error(`${name}: no reading of minute ${BASELINE_MINUTE}`);
      // Judged, like the growth, from the baseline minute on: the first minutes hold the connection
      // storm and the warm-up, shown in the table all the same.
      const worst = Math.max(
        ...own.filter((each) => each.minute >= BASELINE_MINUTE).map((each) => each.loopDelay.p99Ms),
      );
      const growth = (of: (reading: Reading) => number): number => of(last) / of(baseline) - 1;
      const verdict = (value: number, limit: number): string =>
        value > limit ? 'ABOVE the target' : 'meets it';
      const rssGrowth = growth((reading) => reading.rss);
      const heapGrowth = growth((reading) => reading.heapUsed);
      console.log(
        `${name}: RSS ${mib(baseline.rss)} -> ${mib(last.rss)} MiB (${fixed(rssGrowth * 100, 1)} %), heap ` +
          `${mib(baseline.heapUsed)} -> ${mib(last.heapUsed)} MiB (${fixed(heapGrowth * 100, 1)} %) from minute ` +
          `${BASELINE_MINUTE} to minute ${last.minute} (target <= ${TARGETS.growth * 100} %: ` +
          `${verdict(Math.max(rssGrowth, heapGrowth), TARGETS.growth)}); event-loop delay p99, worst minute from ` +
          `minute ${BASELINE_MINUTE} ` +
          `${fixed(worst, 1)} ms (target <= ${TARGETS.loopDelayP99Ms} ms: ${verdict(worst, TARGETS.loopDelayP99Ms)})`,
      );
      if (rssGrowth > TARGETS.growth) problems.push(`${name}: RSS grew by ${fixed(rssGrowth * 100, 1)} %`);
      if (heapGrowth > TARGETS.growth) problems.push(`${name}: heap grew by ${fixed(heapGrowth * 100, 1)} %`);
      if (worst > TARGETS.loopDelayP99Ms)
        problems.push(`${name}: event-loop delay p99 ${fixed(worst, 1)} ms in its worst minute`);
    }
    if (commands.notFinal > 0)
      problems.push(
        `${fixed(commands.notFinal)} command request(s) never answered with a final state; first:\n  ` +
          commands.failures.join('\n  '),
      );
    if (inDatabase.notFinal > 0)
      problems.push(
        `${fixed(inDatabase.notFinal)} command(s) in the database not final, of them ` +
          `${fixed(inDatabase.byStatus.queued ?? 0)} queued (waiting for a device that is gone: they expire ` +
          'after COMMAND_EXPIRY_SEC) and the rest sent, delivered or running past every clock (lost)',
      );
    if (beats.acked !== beats.sent)
      problems.push(`${fixed(beats.sent - beats.acked)} heartbeat(s) of ${fixed(beats.sent)} not acked`);
    if (problems.length > 0) throw new Error(`the soak failed:\n  ${problems.join('\n  ')}`);
    console.log('The soak passed every target.');
  },
};

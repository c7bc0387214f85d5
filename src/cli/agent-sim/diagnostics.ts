import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import {
  type ArpTableOutput,
  type CommandOutputs,
  type CommandType,
  type DnsLookupOutput,
  type HttpCheckOutput,
  type InterfaceStatus,
  type InterfaceStatusOutput,
  type PingOutput,
  type PortCheckOutput,
  type SpeedTestOutput,
  type TracerouteOutput,
  type WifiScanOutput,
} from '../../sessions/commands/command-catalogue';
import {
  type DnsLookupParamsDto,
  type DnsRecordType,
  type HttpCheckParamsDto,
  type InterfaceParamsDto,
  type PingParamsDto,
  type PortCheckParamsDto,
  type SetDnsServersParamsDto,
  type TracerouteParamsDto,
} from '../../sessions/commands/dto/command-params.dto';

/**
 * The reference agent's diagnostics: synthetic but plausible output, of exactly the shape the catalogue
 * documents for each type, computed from the command's params. Nothing is measured. Everything random is
 * drawn from generators seeded by the command id (so one command always gives one output), by the host
 * (so a host resolves to one address and sits at one distance), or by the device (so a device keeps its
 * interfaces and MAC addresses), which lets tests and demos predict what they will see:
 * - a host under `.invalid` (RFC 6761: never resolves) does not resolve: ping and port_check get no
 *   answer, traceroute no route, dns_lookup NXDOMAIN, http_check fails with `dns`;
 * - port_check finds open only the ports in OPEN_PORTS;
 * - http_check answers the status in a path `/status/<code>`, 200 otherwise.
 */

/** The params of each type, as the gateway validated them (README.md#the-command-catalogue). */
export interface CommandParams {
  ping: PingParamsDto;
  traceroute: TracerouteParamsDto;
  dns_lookup: DnsLookupParamsDto;
  http_check: HttpCheckParamsDto;
  port_check: PortCheckParamsDto;
  speed_test: Record<string, never>;
  interface_status: Record<string, never>;
  wifi_scan: Record<string, never>;
  arp_table: Record<string, never>;
  restart_interface: InterfaceParamsDto;
  renew_dhcp: InterfaceParamsDto;
  flush_dns: Record<string, never>;
  set_dns_servers: SetDnsServersParamsDto;
  restart_agent: Record<string, never>;
  reboot: Record<string, never>;
}

/** What a diagnostic runs from: the command's identity, for the seeds, and the time it runs at. */
export interface DiagnosticContext {
  commandId: string;
  deviceId: string;
  now: Date;
}

/** The TCP ports port_check finds open: the usual services a gateway or server listens on. */
export const OPEN_PORTS: readonly number[] = [22, 53, 80, 443, 853, 8080, 8443];

/** The resolver the simulated device uses when a dns_lookup names none: its router. */
export const DEVICE_RESOLVER = '192.168.1.1';

const ROUTER = '192.168.1.1';
const SPEED_TEST_SERVER = 'speedtest.example.net';

/** A small deterministic generator (mulberry32) seeded from any strings. */
class Seeded {
  private state: number;

  constructor(...seeds: string[]) {
    this.state = createHash('sha256').update(seeds.join('\u0000')).digest().readUInt32LE(0);
  }

  /** In [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A number in [min, max) with `decimals` digits after the point. */
  real(min: number, max: number, decimals = 1): number {
    return round(min + this.next() * (max - min), decimals);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  hex(bytes: number): string[] {
    return Array.from({ length: bytes }, () => this.int(0, 255).toString(16).padStart(2, '0'));
  }
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/** A locally administered unicast MAC address. */
function macAddress(random: Seeded): string {
  const [first = '00', ...rest] = random.hex(6);
  return [((parseInt(first, 16) | 0x02) & 0xfe).toString(16).padStart(2, '0'), ...rest].join(':');
}

function neverResolves(host: string): boolean {
  return /(^|\.)invalid\.?$/i.test(host);
}

/**
 * Where a host resolves: an IP literal to itself, `localhost` to loopback, a `.invalid` name nowhere,
 * any other name to one stable address in TEST-NET-3 (RFC 5737), never a real one.
 */
export function resolveHost(host: string): string | null {
  if (isIP(host) !== 0) return host;
  if (neverResolves(host)) return null;
  if (/^localhost\.?$/i.test(host)) return '127.0.0.1';
  return `203.0.113.${new Seeded('address', host.toLowerCase()).int(1, 254)}`;
}

/** The round-trip time a host sits at, in milliseconds: stable per host, so repeated pings agree. */
function baseRttMs(host: string, address: string): number {
  if (address.startsWith('127.') || address === '::1') return 0.05;
  if (address.startsWith('192.168.') || address.startsWith('10.')) return 1.2;
  return new Seeded('distance', host.toLowerCase()).real(6, 80, 1);
}

function ping(params: PingParamsDto, context: DiagnosticContext): PingOutput {
  const address = resolveHost(params.host);
  if (address === null) {
    return { host: params.host, address: null, transmitted: 0, received: 0, lossPct: 100, rttMs: null };
  }
  const random = new Seeded('ping', context.commandId);
  const base = baseRttMs(params.host, address);
  const samples: number[] = [];
  for (let sent = 0; sent < params.count; sent += 1) {
    if (!random.chance(0.04)) samples.push(round(base * (1 + random.next() * 0.3), 3));
  }
  const received = samples.length;
  const lossPct = round(((params.count - received) / params.count) * 100, 1);
  if (received === 0) {
    return { host: params.host, address, transmitted: params.count, received, lossPct, rttMs: null };
  }
  const avg = samples.reduce((sum, sample) => sum + sample, 0) / received;
  // As iputils ping computes mdev: the standard deviation of the samples.
  const meanSquare = samples.reduce((sum, sample) => sum + sample * sample, 0) / received;
  const rttMs = {
    min: Math.min(...samples),
    avg: round(avg, 3),
    max: Math.max(...samples),
    mdev: round(Math.sqrt(Math.max(0, meanSquare - avg * avg)), 3),
  };
  return { host: params.host, address, transmitted: params.count, received, lossPct, rttMs };
}

function traceroute(params: TracerouteParamsDto, context: DiagnosticContext): TracerouteOutput {
  const address = resolveHost(params.host);
  if (address === null) return { host: params.host, address: null, reached: false, hops: [] };
  const random = new Seeded('traceroute', context.commandId);
  const isLocal = address.startsWith('127.') || address === '::1';
  // How many routers away the host is: stable per host, so a short maxHops stops short of it.
  const distance = isLocal ? 1 : new Seeded('hops', params.host.toLowerCase()).int(4, 14);
  const base = isLocal ? 0.05 : baseRttMs(params.host, address);
  const hops: TracerouteOutput['hops'] = [];
  for (let hop = 1; hop <= Math.min(distance, params.maxHops); hop += 1) {
    const last = hop === distance;
    const rtt = () => round(Math.max(0.3, (base * hop) / distance) * (1 + random.next() * 0.2), 3);
    if (!last && hop > 2 && random.chance(0.12)) {
      hops.push({ hop, address: null, hostname: null, rttMs: [] });
      continue;
    }
    const rttMs = [rtt(), rtt(), rtt()].filter(() => !random.chance(0.03));
    if (last) {
      hops.push({ hop, address, hostname: isIP(params.host) === 0 ? params.host : null, rttMs });
    } else if (hop === 1) {
      hops.push({ hop, address: ROUTER, hostname: null, rttMs });
    } else if (hop === 2) {
      hops.push({ hop, address: `100.64.${random.int(0, 255)}.1`, hostname: null, rttMs });
    } else {
      const router = `198.51.100.${random.int(1, 254)}`;
      hops.push({ hop, address: router, hostname: `core${hop}.transit.example.net`, rttMs });
    }
  }
  return { host: params.host, address, reached: distance <= params.maxHops, hops };
}

function dnsAnswers(name: string, recordType: DnsRecordType, random: Seeded): string[] {
  const bare = name.replace(/\.$/, '');
  switch (recordType) {
    case 'A': {
      const first = resolveHost(bare) ?? '203.0.113.1';
      return isIP(first) === 4
        ? [first, ...(random.chance(0.4) ? [`203.0.113.${random.int(1, 254)}`] : [])]
        : [];
    }
    case 'AAAA':
      return [`2001:db8::${random.hex(2).join('')}`];
    case 'MX':
      return [`10 mail.${bare}`, `20 mail2.${bare}`];
    case 'TXT':
      return [`v=spf1 include:_spf.${bare} -all`];
    case 'CNAME':
      return [`${bare}.cdn.example.net`];
    case 'NS':
      return [`ns1.${bare}`, `ns2.${bare}`];
  }
}

function dnsLookup(params: DnsLookupParamsDto, context: DiagnosticContext): DnsLookupOutput {
  const random = new Seeded('dns', context.commandId);
  const server = params.server ?? DEVICE_RESOLVER;
  const durationMs = random.int(2, 60);
  if (neverResolves(params.name)) {
    return {
      name: params.name,
      recordType: params.recordType,
      server,
      rcode: 'NXDOMAIN',
      answers: [],
      durationMs,
    };
  }
  const ttlSec = random.pick([60, 300, 3600, 86400]);
  const answers = dnsAnswers(params.name, params.recordType, random).map((value) => ({ value, ttlSec }));
  return { name: params.name, recordType: params.recordType, server, rcode: 'NOERROR', answers, durationMs };
}

function httpCheck(params: HttpCheckParamsDto, context: DiagnosticContext): HttpCheckOutput {
  const random = new Seeded('http', context.commandId);
  const url = new URL(params.url);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const base = { url: params.url, method: params.method };
  if (resolveHost(host) === null) {
    return { ...base, statusCode: null, durationMs: random.int(1, 30), tls: null, failure: 'dns' };
  }
  const asked = /^\/status\/([1-5]\d\d)(\/|$)/.exec(url.pathname)?.[1];
  const day = 24 * 3600 * 1000;
  const expiresAt = new Date(
    Math.floor(context.now.getTime() / day) * day + random.int(20, 360) * day,
  ).toISOString();
  return {
    ...base,
    statusCode: asked === undefined ? 200 : Number(asked),
    durationMs: random.int(40, 900),
    tls: url.protocol === 'https:' ? { valid: true, expiresAt } : null,
    failure: null,
  };
}

function portCheck(params: PortCheckParamsDto, context: DiagnosticContext): PortCheckOutput {
  const random = new Seeded('port', context.commandId);
  const address = resolveHost(params.host);
  const open = address !== null && OPEN_PORTS.includes(params.port);
  const durationMs =
    address === null ? random.int(1, 30) : Math.ceil(baseRttMs(params.host, address) + random.int(0, 5));
  return { host: params.host, port: params.port, open, durationMs };
}

function speedTest(_params: Record<string, never>, context: DiagnosticContext): SpeedTestOutput {
  const random = new Seeded('speed', context.commandId);
  return {
    downloadMbps: random.real(80, 480, 1),
    uploadMbps: random.real(15, 95, 1),
    latencyMs: random.real(5, 30, 1),
    server: SPEED_TEST_SERVER,
  };
}

/** The device's interfaces: stable per device, as a real one's would be. */
function deviceInterfaces(deviceId: string): InterfaceStatus[] {
  const random = new Seeded('interfaces', deviceId);
  const ipv6 = () => `fe80::${random.hex(2).join('')}:${random.hex(2).join('')}`;
  return [
    { name: 'lo', up: true, mac: null, ipv4: ['127.0.0.1'], ipv6: ['::1'], speedMbps: null, wireless: false },
    {
      name: 'eth0',
      up: true,
      mac: macAddress(random),
      ipv4: [`192.168.1.${random.int(10, 99)}`],
      ipv6: [ipv6()],
      speedMbps: 1000,
      wireless: false,
    },
    {
      name: 'wlan0',
      up: true,
      mac: macAddress(random),
      ipv4: [`192.168.1.${random.int(100, 199)}`],
      ipv6: [ipv6()],
      speedMbps: null,
      wireless: true,
    },
  ];
}

function interfaceStatus(_params: Record<string, never>, context: DiagnosticContext): InterfaceStatusOutput {
  return { interfaces: deviceInterfaces(context.deviceId) };
}

const SSIDS = ['netdiag-office', 'Guest', 'FRITZ!Box 7590', 'eduroam', 'Printer-Setup', 'HomeNet-5G', 'cafe'];
const CHANNELS_24 = [1, 6, 11];
const CHANNELS_5 = [36, 40, 44, 48, 149, 153, 157];

function wifiScan(_params: Record<string, never>, context: DiagnosticContext): WifiScanOutput {
  const random = new Seeded('wifi', context.commandId);
  const ssids = [...SSIDS].sort(() => random.next() - 0.5).slice(0, random.int(3, 6));
  const networks = ssids.map((ssid) => {
    const fiveGhz = random.chance(0.5);
    const channel = random.pick(fiveGhz ? CHANNELS_5 : CHANNELS_24);
    return {
      ssid,
      bssid: macAddress(random),
      channel,
      frequencyMhz: fiveGhz ? 5000 + 5 * channel : 2407 + 5 * channel,
      signalDbm: random.int(-88, -35),
      security: ssid === 'cafe' ? 'open' : random.pick(['wpa2', 'wpa2', 'wpa3']),
    };
  });
  return { networks: networks.sort((a, b) => b.signalDbm - a.signalDbm) };
}

function arpTable(_params: Record<string, never>, context: DiagnosticContext): ArpTableOutput {
  const random = new Seeded('arp', context.commandId);
  const router = new Seeded('router', context.deviceId);
  const entries = new Map<string, ArpTableOutput['entries'][number]>([
    [ROUTER, { address: ROUTER, mac: macAddress(router), interface: 'eth0', state: 'reachable' }],
  ]);
  for (let count = random.int(1, 5); count > 0; count -= 1) {
    const address = `192.168.1.${random.int(2, 254)}`;
    const failed = random.chance(0.15);
    const mac = failed ? null : macAddress(random);
    const state = failed ? 'failed' : random.pick(['reachable', 'stale', 'delay']);
    if (!entries.has(address)) {
      entries.set(address, { address, mac, interface: random.pick(['eth0', 'wlan0']), state });
    }
  }
  return { entries: [...entries.values()] };
}

type Executor<T extends CommandType> = (
  params: CommandParams[T],
  context: DiagnosticContext,
) => CommandOutputs[T];

/** One executor per catalogue type: a type added to the catalogue without one fails to compile. */
const EXECUTORS: { readonly [T in CommandType]: Executor<T> } = {
  ping,
  traceroute,
  dns_lookup: dnsLookup,
  http_check: httpCheck,
  port_check: portCheck,
  speed_test: speedTest,
  interface_status: interfaceStatus,
  wifi_scan: wifiScan,
  arp_table: arpTable,
  // Remediation types arrive only as steps of an approved plan; the simulator reports them done.
  restart_interface: (params) => ({ interface: params.interface, up: true }),
  renew_dhcp: (params, context) => ({
    interface: params.interface,
    address: `192.168.1.${new Seeded('dhcp', context.deviceId, params.interface).int(10, 199)}`,
    leaseSec: 86400,
  }),
  flush_dns: () => ({ flushed: true }),
  set_dns_servers: (params) => ({ interface: params.interface, servers: [...params.servers] }),
  restart_agent: () => ({ restarting: true }),
  reboot: (_params, context) => ({ rebootingAt: new Date(context.now.getTime() + 5000).toISOString() }),
};

/**
 * The output of one command of the given type, for params the gateway validated against the catalogue.
 * The same command (id, device, params, time) always gives the same output.
 */
export function runDiagnostic<T extends CommandType>(
  type: T,
  params: CommandParams[T],
  context: DiagnosticContext,
): CommandOutputs[T] {
  const executor: Executor<T> = EXECUTORS[type];
  return executor(params, context);
}

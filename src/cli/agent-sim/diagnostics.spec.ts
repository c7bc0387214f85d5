import { isIP } from 'node:net';
import { compileSchema } from '../../common/validation/schema-validator';
import {
  checkCommandParams,
  COMMAND_TYPES,
  type CommandOutputs,
  type CommandType,
} from '../../sessions/commands/command-catalogue';
import { DNS_RECORD_TYPES } from '../../sessions/commands/dto/command-params.dto';
import { type CommandParams, type DiagnosticContext, OPEN_PORTS, runDiagnostic } from './diagnostics';

const CONTEXT: DiagnosticContext = {
  commandId: '6f1d8c52-3b0e-4a57-9f0c-2d7c8b1e4a10',
  deviceId: '0c8f3a9e-5b21-4d6e-8a7f-93e1c2b4d5f6',
  now: new Date('2026-12-02T10:00:00.000Z'),
};

const contextFor = (commandId: string): DiagnosticContext => ({ ...CONTEXT, commandId });

/** Params of every type, valid for the catalogue: a Record, so a new type without any fails to compile. */
const PARAMS: { [T in CommandType]: CommandParams[T] } = {
  ping: { host: 'example.com', count: 4 },
  traceroute: { host: 'example.com', maxHops: 30 },
  dns_lookup: { name: 'example.com', recordType: 'A' },
  http_check: { url: 'https://example.com/health', method: 'GET' },
  port_check: { host: '192.0.2.10', port: 443 },
  speed_test: {},
  interface_status: {},
  wifi_scan: {},
  arp_table: {},
  restart_interface: { interface: 'wlan0' },
  renew_dhcp: { interface: 'eth0' },
  flush_dns: {},
  set_dns_servers: { interface: 'eth0', servers: ['192.0.2.53', '2001:db8::53'] },
  restart_agent: {},
  reboot: {},
};

// The documented output shapes (command-catalogue.ts), field for field: nothing missing, nothing extra.
const object = (properties: Record<string, unknown>) => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});
const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] });
const number = { type: 'number', minimum: 0 };
const integer = { type: 'integer', minimum: 0 };
const string = { type: 'string', minLength: 1 };
const ip = {
  anyOf: [
    { type: 'string', format: 'ipv4' },
    { type: 'string', format: 'ipv6' },
  ],
};
const mac = { type: 'string', pattern: '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$' };
const arrayOf = (items: unknown) => ({ type: 'array', items });

const OUTPUT_SHAPES: Record<CommandType, Record<string, unknown>> = {
  ping: object({
    host: string,
    address: nullable(ip),
    transmitted: integer,
    received: integer,
    lossPct: { type: 'number', minimum: 0, maximum: 100 },
    rttMs: nullable(object({ min: number, avg: number, max: number, mdev: number })),
  }),
  traceroute: object({
    host: string,
    address: nullable(ip),
    reached: { type: 'boolean' },
    hops: arrayOf(
      object({
        hop: { type: 'integer', minimum: 1 },
        address: nullable(ip),
        hostname: nullable(string),
        rttMs: arrayOf(number),
      }),
    ),
  }),
  dns_lookup: object({
    name: string,
    recordType: { enum: [...DNS_RECORD_TYPES] },
    server: string,
    rcode: { enum: ['NOERROR', 'NXDOMAIN', 'SERVFAIL', 'REFUSED', 'TIMEOUT'] },
    answers: arrayOf(object({ value: string, ttlSec: integer })),
    durationMs: number,
  }),
  http_check: object({
    url: string,
    method: { enum: ['GET', 'HEAD'] },
    statusCode: nullable({ type: 'integer', minimum: 100, maximum: 599 }),
    durationMs: number,
    tls: nullable(
      object({ valid: { type: 'boolean' }, expiresAt: nullable({ type: 'string', format: 'date-time' }) }),
    ),
    failure: nullable({ enum: ['dns', 'connect', 'tls', 'timeout'] }),
  }),
  port_check: object({
    host: string,
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    open: { type: 'boolean' },
    durationMs: number,
  }),
  speed_test: object({ downloadMbps: number, uploadMbps: number, latencyMs: number, server: string }),
  interface_status: object({
    interfaces: arrayOf(
      object({
        name: string,
        up: { type: 'boolean' },
        mac: nullable(mac),
        ipv4: arrayOf({ type: 'string', format: 'ipv4' }),
        ipv6: arrayOf({ type: 'string', format: 'ipv6' }),
        speedMbps: nullable(number),
        wireless: { type: 'boolean' },
      }),
    ),
  }),
  wifi_scan: object({
    networks: arrayOf(
      object({
        ssid: string,
        bssid: mac,
        channel: { type: 'integer', minimum: 1 },
        frequencyMhz: { type: 'integer', minimum: 2400, maximum: 5900 },
        signalDbm: { type: 'integer', maximum: 0 },
        security: { enum: ['open', 'wep', 'wpa', 'wpa2', 'wpa3'] },
      }),
    ),
  }),
  arp_table: object({
    entries: arrayOf(
      object({
        address: ip,
        mac: nullable(mac),
        interface: string,
        state: { enum: ['reachable', 'stale', 'delay', 'probe', 'failed', 'permanent'] },
      }),
    ),
  }),
  restart_interface: object({ interface: string, up: { type: 'boolean' } }),
  renew_dhcp: object({ interface: string, address: nullable(ip), leaseSec: nullable(integer) }),
  flush_dns: object({ flushed: { type: 'boolean' } }),
  set_dns_servers: object({ interface: string, servers: arrayOf(ip) }),
  restart_agent: object({ restarting: { type: 'boolean' } }),
  reboot: object({ rebootingAt: { type: 'string', format: 'date-time' } }),
};

const validators = new Map(COMMAND_TYPES.map((type) => [type, compileSchema(OUTPUT_SHAPES[type])]));

function expectDocumentedShape(type: CommandType, output: unknown): void {
  const validate = validators.get(type)!;
  validate(output);
  expect({ type, errors: validate.errors ?? [] }).toEqual({ type, errors: [] });
}

/** Many command ids, so the shapes hold for whatever the seeds draw, not for one lucky draw. */
const IDS = Array.from({ length: 40 }, (_, index) => `cmd-${index}`);

describe('the reference agent diagnostics', () => {
  it.each(COMMAND_TYPES)('executes %s with output of its documented shape', (type) => {
    expect(checkCommandParams(type, PARAMS[type])).toEqual({ value: PARAMS[type] });
    for (const id of IDS) expectDocumentedShape(type, runDiagnostic(type, PARAMS[type], contextFor(id)));
  });

  it('gives one command the same output every time, and other commands their own', () => {
    const first = runDiagnostic('ping', { host: 'example.com', count: 20 }, CONTEXT);
    expect(runDiagnostic('ping', { host: 'example.com', count: 20 }, CONTEXT)).toEqual(first);
    const others = IDS.map((id) => runDiagnostic('ping', { host: 'example.com', count: 20 }, contextFor(id)));
    expect(new Set(others.map((output) => JSON.stringify(output.rttMs))).size).toBeGreaterThan(1);
  });

  describe('ping', () => {
    it.each([1, 4, 20])('sends count=%i echoes and counts what came back', (count) => {
      for (const id of IDS) {
        const output = runDiagnostic('ping', { host: 'example.com', count }, contextFor(id));
        expect(output.transmitted).toBe(count);
        expect(output.received).toBeLessThanOrEqual(count);
        expect(output.lossPct).toBeCloseTo(((count - output.received) / count) * 100, 1);
        if (output.received === 0) expect(output.rttMs).toBeNull();
        else expect(output.rttMs!.min).toBeLessThanOrEqual(output.rttMs!.avg);
        if (output.rttMs) expect(output.rttMs.avg).toBeLessThanOrEqual(output.rttMs.max);
      }
    });

    it('pings an IP literal at that address, and a name at one stable address', () => {
      expect(runDiagnostic('ping', { host: '192.0.2.7', count: 1 }, CONTEXT).address).toBe('192.0.2.7');
      const addresses = IDS.map(
        (id) => runDiagnostic('ping', { host: 'example.com', count: 1 }, contextFor(id)).address,
      );
      expect(new Set(addresses).size).toBe(1);
    });

    it('gets nothing back from a host that does not resolve', () => {
      expect(runDiagnostic('ping', { host: 'nowhere.invalid', count: 5 }, CONTEXT)).toEqual({
        host: 'nowhere.invalid',
        address: null,
        transmitted: 0,
        received: 0,
        lossPct: 100,
        rttMs: null,
      });
    });
  });

  describe('traceroute', () => {
    it.each([1, 3, 8, 64])('lists at most maxHops=%i hops, numbered from 1', (maxHops) => {
      for (const host of ['example.com', 'a.example.org', 'b.example.net', '2001:db8::1']) {
        const output = runDiagnostic('traceroute', { host, maxHops }, CONTEXT);
        expect(output.hops.length).toBeLessThanOrEqual(maxHops);
        expect(output.hops.map((hop) => hop.hop)).toEqual(output.hops.map((_, index) => index + 1));
        if (output.reached) expect(output.hops.at(-1)!.address).toBe(output.address);
        else expect(output.hops).toHaveLength(maxHops);
      }
    });

    it('reaches a host within 64 hops, and has no route to one that does not resolve', () => {
      expect(runDiagnostic('traceroute', { host: 'example.com', maxHops: 64 }, CONTEXT).reached).toBe(true);
      expect(runDiagnostic('traceroute', { host: 'x.invalid', maxHops: 30 }, CONTEXT)).toEqual({
        host: 'x.invalid',
        address: null,
        reached: false,
        hops: [],
      });
    });
  });

  describe('dns_lookup', () => {
    const answers = (recordType: (typeof DNS_RECORD_TYPES)[number]) =>
      runDiagnostic('dns_lookup', { name: 'example.com', recordType }, CONTEXT).answers.map(
        ({ value }) => value,
      );

    it('answers each record type with records of that type', () => {
      expect(answers('A').every((value) => isIP(value) === 4)).toBe(true);
      expect(answers('AAAA').every((value) => isIP(value) === 6)).toBe(true);
      expect(answers('MX').every((value) => /^\d+ [a-z0-9.-]+$/.test(value))).toBe(true);
      expect(answers('TXT')[0]).toMatch(/^v=spf1 /);
      expect(answers('CNAME')).toHaveLength(1);
      expect(answers('NS').every((value) => value.startsWith('ns'))).toBe(true);
      for (const recordType of DNS_RECORD_TYPES) expect(answers(recordType).length).toBeGreaterThan(0);
    });

    it("asks the resolver given, or the device's own, and says NXDOMAIN for a name that does not exist", () => {
      expect(
        runDiagnostic('dns_lookup', { name: 'example.com', recordType: 'A', server: '9.9.9.9' }, CONTEXT)
          .server,
      ).toBe('9.9.9.9');
      const missing = runDiagnostic('dns_lookup', { name: 'gone.invalid', recordType: 'MX' }, CONTEXT);
      expect(missing).toMatchObject({ server: '192.168.1.1', rcode: 'NXDOMAIN', answers: [] });
    });
  });

  describe('http_check', () => {
    it('answers 200, or the status a /status/<code> path asks for, with TLS details for https only', () => {
      expect(
        runDiagnostic('http_check', { url: 'https://example.com/', method: 'GET' }, CONTEXT),
      ).toMatchObject({
        statusCode: 200,
        tls: { valid: true },
        failure: null,
      });
      expect(
        runDiagnostic('http_check', { url: 'http://example.com/status/503', method: 'HEAD' }, CONTEXT),
      ).toMatchObject({
        method: 'HEAD',
        statusCode: 503,
        tls: null,
        failure: null,
      });
    });

    it('fails with dns, and no status, for a host that does not resolve', () => {
      expect(
        runDiagnostic('http_check', { url: 'https://down.invalid/', method: 'GET' }, CONTEXT),
      ).toMatchObject({
        statusCode: null,
        tls: null,
        failure: 'dns',
      });
    });
  });

  describe('port_check', () => {
    it('finds the usual service ports open and the others closed', () => {
      for (const port of OPEN_PORTS)
        expect(runDiagnostic('port_check', { host: 'example.com', port }, CONTEXT).open).toBe(true);
      for (const port of [1, 25, 3306, 65535]) {
        expect(runDiagnostic('port_check', { host: 'example.com', port }, CONTEXT)).toMatchObject({
          port,
          open: false,
        });
      }
      expect(runDiagnostic('port_check', { host: 'db.invalid', port: 443 }, CONTEXT).open).toBe(false);
    });
  });

  it("keeps a device's interfaces from one interface_status to the next", () => {
    const first = runDiagnostic('interface_status', {}, contextFor('one'));
    expect(runDiagnostic('interface_status', {}, contextFor('two'))).toEqual(first);
    expect(first.interfaces.map(({ name }) => name)).toEqual(['lo', 'eth0', 'wlan0']);
  });

  it('lists wifi networks strongest first, each on a channel of its band', () => {
    for (const id of IDS) {
      const { networks } = runDiagnostic('wifi_scan', {}, contextFor(id));
      expect(networks.length).toBeGreaterThan(0);
      expect(networks.map((n) => n.signalDbm)).toEqual(
        [...networks.map((n) => n.signalDbm)].sort((a, b) => b - a),
      );
      for (const network of networks) {
        const expected = network.channel > 14 ? 5000 + 5 * network.channel : 2407 + 5 * network.channel;
        expect(network.frequencyMhz).toBe(expected);
      }
    }
  });

  it('lists the router first in the ARP table, each address once', () => {
    for (const id of IDS) {
      const { entries } = runDiagnostic('arp_table', {}, contextFor(id));
      expect(entries[0]).toMatchObject({ address: '192.168.1.1', state: 'reachable' });
      expect(new Set(entries.map((entry) => entry.address)).size).toBe(entries.length);
    }
  });

  it('reports the remediation types done, with what they were asked to set', () => {
    const outputs: Partial<CommandOutputs> = {
      set_dns_servers: runDiagnostic('set_dns_servers', PARAMS.set_dns_servers, CONTEXT),
      restart_interface: runDiagnostic('restart_interface', PARAMS.restart_interface, CONTEXT),
      reboot: runDiagnostic('reboot', {}, CONTEXT),
    };
    expect(outputs).toEqual({
      set_dns_servers: { interface: 'eth0', servers: ['192.0.2.53', '2001:db8::53'] },
      restart_interface: { interface: 'wlan0', up: true },
      reboot: { rebootingAt: '2026-12-02T10:00:05.000Z' },
    });
  });
});

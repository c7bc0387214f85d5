import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import {
  checkCommandParams,
  checkTimeout,
  COMMAND_CATALOGUE,
  COMMAND_TYPES,
  type CommandType,
  isCommandType,
  paramsSchemaOf,
} from './command-catalogue';

/** One valid `params` per type: a Record, so a type added to the catalogue without one fails to compile. */
const VALID: Record<CommandType, Record<string, unknown>> = {
  ping: { host: 'example.com', count: 4 },
  traceroute: { host: '2001:db8::1', maxHops: 30 },
  dns_lookup: { name: 'example.com', recordType: 'MX', server: '192.0.2.53' },
  http_check: { url: 'https://example.com/health?full=1', method: 'HEAD' },
  port_check: { host: '192.0.2.10', port: 443 },
  speed_test: {},
  interface_status: {},
  wifi_scan: {},
  arp_table: {},
  restart_interface: { interface: 'wlan0' },
  renew_dhcp: { interface: 'eth0' },
  flush_dns: {},
  set_dns_servers: { interface: 'eth0', servers: ['192.0.2.53', '2001:4860:4860::8888'] },
  restart_agent: {},
  reboot: {},
};

/** Params that must be refused, with the field each error must name. */
const HOSTILE: [type: CommandType, params: unknown, fields: string[]][] = [
  ['ping', { host: 'example.com; rm -rf /', count: 4 }, ['params.host']],
  ['ping', { host: '$(reboot)', count: 4 }, ['params.host']],
  ['ping', { host: '-f', count: 4 }, ['params.host']],
  ['ping', { host: 'example.com', count: 0 }, ['params.count']],
  ['ping', { host: 'example.com', count: 21 }, ['params.count']],
  ['ping', { host: 'example.com', count: 2.5 }, ['params.count']],
  ['ping', { host: 'example.com', count: '4' }, ['params.count']],
  ['ping', { host: 'example.com' }, ['params.count']],
  ['ping', { host: 'example.com', count: 4, flood: true }, ['params.flood']],
  ['traceroute', { host: 'example.com', maxHops: 65 }, ['params.maxHops']],
  ['traceroute', { host: 'example.com && reboot', maxHops: 5 }, ['params.host']],
  ['dns_lookup', { name: 'example.com', recordType: 'ANY' }, ['params.recordType']],
  ['dns_lookup', { name: 'example.com', recordType: 'A', server: '1.1.1.1 | sh' }, ['params.server']],
  ['dns_lookup', { name: '`id`.example.com', recordType: 'A' }, ['params.name']],
  ['http_check', { url: 'ftp://example.com/file', method: 'GET' }, ['params.url']],
  ['http_check', { url: 'file:///etc/passwd', method: 'GET' }, ['params.url']],
  ['http_check', { url: 'http://example.com/ $(reboot)', method: 'GET' }, ['params.url']],
  ['http_check', { url: 'http://user:pw@example.com/', method: 'GET' }, ['params.url']],
  ['http_check', { url: 'https://example.com/', method: 'POST' }, ['params.method']],
  ['port_check', { host: 'example.com', port: 0 }, ['params.port']],
  ['port_check', { host: 'example.com', port: 65536 }, ['params.port']],
  ['speed_test', { server: 'speed.example.com' }, ['params.server']],
  ['interface_status', null, ['params']],
  ['wifi_scan', [], ['params']],
  ['arp_table', 'all', ['params']],
  ['restart_interface', { interface: 'eth0; reboot' }, ['params.interface']],
  ['restart_interface', { interface: '../../etc' }, ['params.interface']],
  ['restart_interface', { interface: '-a' }, ['params.interface']],
  ['renew_dhcp', { interface: 'an-interface-name' }, ['params.interface']],
  ['set_dns_servers', { interface: 'eth0', servers: [] }, ['params.servers']],
  [
    'set_dns_servers',
    { interface: 'eth0', servers: ['1.1.1.1', '1.0.0.1', '8.8.8.8', '8.8.4.4', '9.9.9.9'] },
    ['params.servers'],
  ],
  ['set_dns_servers', { interface: 'eth0', servers: ['dns.example.com'] }, ['params.servers.0']],
  ['set_dns_servers', { interface: 'eth0', servers: ['1.1.1.1', '1.1.1.1;reboot'] }, ['params.servers.1']],
  ['reboot', { now: true }, ['params.now']],
];

/** The DTO's own rules, as class-validator applies them to a plain object (unknown fields refused). */
function acceptedByDto(type: CommandType, params: unknown): boolean {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return false;
  const dto = COMMAND_CATALOGUE[type].params;
  if (dto === null) return Object.keys(params).length === 0;
  const instance = plainToInstance(dto, params) as object;
  return validateSync(instance, { whitelist: true, forbidNonWhitelisted: true }).length === 0;
}

describe('the command catalogue', () => {
  it('declares the diagnostic and remediation types of the README catalogue, and only those', () => {
    const byRisk = (risk: string) => COMMAND_TYPES.filter((type) => COMMAND_CATALOGUE[type].risk === risk);

    expect(byRisk('diagnostic')).toEqual([
      'ping',
      'traceroute',
      'dns_lookup',
      'http_check',
      'port_check',
      'speed_test',
      'interface_status',
      'wifi_scan',
      'arp_table',
    ]);
    expect(byRisk('remediation')).toEqual([
      'restart_interface',
      'renew_dhcp',
      'flush_dns',
      'set_dns_servers',
      'restart_agent',
      'reboot',
    ]);
    expect(isCommandType('ping')).toBe(true);
    expect(isCommandType('shell')).toBe(false);
    expect(isCommandType('constructor')).toBe(false);
  });

  it.each(COMMAND_TYPES)('accepts a valid %s, by its JSON Schema and by its DTO alike', (type) => {
    expect(checkCommandParams(type, VALID[type])).toEqual({ value: VALID[type] });
    expect(acceptedByDto(type, VALID[type])).toBe(true);
  });

  it.each(HOSTILE)('refuses %s params %j, naming %j', (type, params, fields) => {
    const result = checkCommandParams(type, params);

    expect('errors' in result && [...new Set(result.errors.map((error) => error.field))]).toEqual(fields);
    expect(acceptedByDto(type, params)).toBe(false);
  });

  it('serves every params schema closed: no field it does not name reaches a device', () => {
    for (const type of COMMAND_TYPES) {
      const schema = paramsSchemaOf(type);
      expect({ type, additionalProperties: schema.additionalProperties, kind: schema.type }).toEqual({
        type,
        additionalProperties: false,
        kind: 'object',
      });
    }
    expect(paramsSchemaOf('ping')).toMatchObject({
      properties: {
        host: { type: 'string', format: 'network-host' },
        count: { type: 'integer', minimum: 1, maximum: 20 },
      },
      required: ['host', 'count'],
    });
  });

  it('gives every type a default timeout within 1..max, and refuses one past the max', () => {
    for (const type of COMMAND_TYPES) {
      const { timeoutSec } = COMMAND_CATALOGUE[type];
      expect(timeoutSec.default).toBeGreaterThanOrEqual(1);
      expect(timeoutSec.default).toBeLessThanOrEqual(timeoutSec.max);
      expect(checkTimeout(type, undefined)).toEqual({ value: timeoutSec.default });
      expect(checkTimeout(type, timeoutSec.max)).toEqual({ value: timeoutSec.max });
      for (const refused of [0, -1, 1.5, timeoutSec.max + 1]) {
        expect(checkTimeout(type, refused)).toEqual({
          errors: [
            { field: 'timeoutSec', message: expect.stringContaining(String(timeoutSec.max)) as string },
          ],
        });
      }
    }
  });
});

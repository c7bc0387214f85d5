import {
  type AnySchema,
  array,
  boolean,
  integer,
  named,
  nullable,
  number,
  object,
  oneOfValues,
  type Schema,
  string,
  timestamp,
  validated,
  vouch,
} from '../../common/docs/typed-schema';
import {
  type ArpTableOutput,
  COMMAND_CATALOGUE,
  type CommandOutputs,
  type CommandType,
  type DnsLookupOutput,
  type HttpCheckOutput,
  type InterfaceStatus,
  type InterfaceStatusOutput,
  type PingOutput,
  type RttStats,
  type TracerouteOutput,
  type WifiScanOutput,
  paramsSchemaOf,
} from './command-catalogue';
import { DNS_RECORD_TYPES, HTTP_CHECK_METHODS } from './dto/command-params.dto';

const RTT_STATS = object<RttStats>({
  min: number(),
  avg: number(),
  max: number(),
  mdev: number({ description: 'Mean deviation, as ping reports it' }),
});

const durationMs = (): Schema<number> => number({ minimum: 0, description: 'Milliseconds' });

/**
 * The schema of each type's result `output` (the interfaces in command-catalogue.ts, checked by the
 * compiler against them): what the reference agent produces and the portal shows.
 */
const OUTPUT_SCHEMAS: { [K in CommandType]: Schema<CommandOutputs[K]> } = {
  ping: object<PingOutput>({
    host: string(),
    address: nullable(string({ description: 'The address pinged; null when the host did not resolve' })),
    transmitted: integer({ minimum: 0 }),
    received: integer({ minimum: 0 }),
    lossPct: number({ minimum: 0, maximum: 100 }),
    rttMs: nullable(RTT_STATS),
  }),
  traceroute: object<TracerouteOutput>({
    host: string(),
    address: nullable(string()),
    reached: boolean(),
    hops: array(
      object<TracerouteOutput['hops'][number]>({
        hop: integer({ minimum: 1, description: 'From 1, the first router after the device' }),
        address: nullable(string({ description: 'Null when the hop did not answer' })),
        hostname: nullable(string()),
        rttMs: array(number(), { description: 'One entry per probe that answered' }),
      }),
    ),
  }),
  dns_lookup: object<DnsLookupOutput>({
    name: string(),
    recordType: oneOfValues(DNS_RECORD_TYPES),
    server: string({ description: 'The resolver that answered' }),
    rcode: string({ description: 'NOERROR, NXDOMAIN, SERVFAIL, REFUSED, or TIMEOUT when none came' }),
    answers: array(
      object<DnsLookupOutput['answers'][number]>({
        value: string({ description: 'The record data as text (`10 mail.example.com` for MX)' }),
        ttlSec: integer({ minimum: 0 }),
      }),
    ),
    durationMs: durationMs(),
  }),
  http_check: object<HttpCheckOutput>({
    url: string(),
    method: oneOfValues(HTTP_CHECK_METHODS),
    statusCode: nullable(integer({ description: 'Null when no response came' })),
    durationMs: durationMs(),
    tls: nullable(
      object<NonNullable<HttpCheckOutput['tls']>>({
        valid: boolean(),
        expiresAt: nullable(timestamp()),
      }),
    ),
    failure: nullable(string({ description: 'Why no response came: dns, connect, tls, timeout' })),
  }),
  port_check: object<CommandOutputs['port_check']>({
    host: string(),
    port: integer({ minimum: 1, maximum: 65535 }),
    open: boolean(),
    durationMs: durationMs(),
  }),
  speed_test: object<CommandOutputs['speed_test']>({
    downloadMbps: number({ minimum: 0 }),
    uploadMbps: number({ minimum: 0 }),
    latencyMs: number({ minimum: 0 }),
    server: string(),
  }),
  interface_status: object<InterfaceStatusOutput>({
    interfaces: array(
      object<InterfaceStatus>({
        name: string(),
        up: boolean(),
        mac: nullable(string()),
        ipv4: array(string()),
        ipv6: array(string()),
        speedMbps: nullable(number({ description: 'Null when the driver does not say' })),
        wireless: boolean(),
      }),
    ),
  }),
  wifi_scan: object<WifiScanOutput>({
    networks: array(
      object<WifiScanOutput['networks'][number]>({
        ssid: string(),
        bssid: string(),
        channel: integer(),
        frequencyMhz: integer(),
        signalDbm: number(),
        security: string({ description: 'open, wep, wpa2, wpa3, ...' }),
      }),
    ),
  }),
  arp_table: object<ArpTableOutput>({
    entries: array(
      object<ArpTableOutput['entries'][number]>({
        address: string(),
        mac: nullable(string()),
        interface: string(),
        state: string({ description: "The kernel's neighbour state: reachable, stale, failed, ..." }),
      }),
    ),
  }),
  restart_interface: object<CommandOutputs['restart_interface']>({ interface: string(), up: boolean() }),
  renew_dhcp: object<CommandOutputs['renew_dhcp']>({
    interface: string(),
    address: nullable(string({ description: 'Null when no DHCP server answered' })),
    leaseSec: nullable(integer({ minimum: 0 })),
  }),
  flush_dns: object<CommandOutputs['flush_dns']>({ flushed: boolean() }),
  set_dns_servers: object<CommandOutputs['set_dns_servers']>({
    interface: string(),
    servers: array(string()),
  }),
  restart_agent: object<CommandOutputs['restart_agent']>({ restarting: boolean() }),
  reboot: object<CommandOutputs['reboot']>({ rebootingAt: timestamp() }),
};

function describedType(type: CommandType): string {
  const { risk, summary, timeoutSec } = COMMAND_CATALOGUE[type];
  return `\`${type}\` (${risk}): ${summary}. Timeout ${timeoutSec.default} s by default, at most ${timeoutSec.max} s.`;
}

/** `params` of a command of this type, as validated (checkCommandParams), named `CommandParams.<type>`. */
export function commandParamsSchema(type: CommandType): AnySchema {
  return validated(paramsSchemaOf(type), `CommandParams.${type}`);
}

/** `output` of a succeeded command of this type, named `CommandOutput.<type>`. */
export function commandOutputSchema(type: CommandType): AnySchema {
  return named(`CommandOutput.${type}`, vouch<unknown>(OUTPUT_SCHEMAS[type]));
}

/** The catalogue as the documents describe it: one line per type, for the Command object's readers. */
export function catalogueDescription(types: readonly CommandType[]): string {
  return types.map((type) => `- ${describedType(type)}`).join('\n');
}

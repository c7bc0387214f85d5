import { type Type } from '@nestjs/common';
import { type ValidateFunction } from 'ajv';
import { type FieldError } from '../../common/errors/domain-error';
import { jsonSchemaOf, type JsonSchema } from '../../common/validation/dto-schema';
import { compileSchema, toFieldError } from '../../common/validation/schema-validator';
import {
  type DnsRecordType,
  DnsLookupParamsDto,
  type HttpCheckMethod,
  HttpCheckParamsDto,
  InterfaceParamsDto,
  PingParamsDto,
  PortCheckParamsDto,
  SetDnsServersParamsDto,
  TracerouteParamsDto,
} from './dto/command-params.dto';

/**
 * What a command may do to a device: `diagnostic` types only read (any open session may run them),
 * `remediation` types change the device and run only as steps of a plan the customer approved.
 */
export type CommandRisk = 'diagnostic' | 'remediation';

/** How long a command may run once delivered, in seconds; a request may ask for less or more, up to max. */
export interface CommandTimeout {
  default: number;
  max: number;
}

/** One command type: the declaration the gateway validates, routes and times commands by. */
export interface CommandTypeDeclaration {
  risk: CommandRisk;
  /** The class-validator DTO of its `params`; null when it takes none (`params` must then be `{}`). */
  params: Type | null;
  timeoutSec: CommandTimeout;
  /** One line for the catalogue's readers. */
  summary: string;
}

// The shape of each type's result `output`: what the reference agent produces and the portal shows.

/** Round-trip times in milliseconds. */
export interface RttStats {
  min: number;
  avg: number;
  max: number;
  /** Mean deviation, as ping reports it. */
  mdev: number;
}

/** `ping`: ICMP echo to a host. `rttMs` is null when no reply came back. */
export interface PingOutput {
  host: string;
  /** The address the host resolved to and was pinged at; null when it did not resolve. */
  address: string | null;
  transmitted: number;
  received: number;
  lossPct: number;
  rttMs: RttStats | null;
}

/** `traceroute`: the path to a host, hop by hop. A hop that did not answer has a null address. */
export interface TracerouteOutput {
  host: string;
  address: string | null;
  reached: boolean;
  hops: {
    /** From 1, the first router after the device. */
    hop: number;
    address: string | null;
    hostname: string | null;
    /** One entry per probe that answered. */
    rttMs: number[];
  }[];
}

/** `dns_lookup`: one query to a resolver. `answers` is empty unless `rcode` is NOERROR. */
export interface DnsLookupOutput {
  name: string;
  recordType: DnsRecordType;
  /** The resolver that answered (the requested one, or the device's own). */
  server: string;
  /** The DNS response code: NOERROR, NXDOMAIN, SERVFAIL, REFUSED, or TIMEOUT when none came. */
  rcode: string;
  answers: {
    /** The record's data as text: an address, `10 mail.example.com` for MX, the text of a TXT. */
    value: string;
    ttlSec: number;
  }[];
  durationMs: number;
}

/** `http_check`: one request, redirects not followed. `statusCode` is null when no response came. */
export interface HttpCheckOutput {
  url: string;
  method: HttpCheckMethod;
  statusCode: number | null;
  durationMs: number;
  /** For https: whether the certificate verified, and when it expires. Null for http. */
  tls: { valid: boolean; expiresAt: string | null } | null;
  /** Why no response came (`dns`, `connect`, `tls`, `timeout`); null when one did. */
  failure: string | null;
}

/** `port_check`: a TCP connect to a host's port. */
export interface PortCheckOutput {
  host: string;
  port: number;
  open: boolean;
  durationMs: number;
}

/** `speed_test`: throughput to the agent's test server. */
export interface SpeedTestOutput {
  downloadMbps: number;
  uploadMbps: number;
  latencyMs: number;
  server: string;
}

/** One network interface as `interface_status` reports it. */
export interface InterfaceStatus {
  name: string;
  up: boolean;
  mac: string | null;
  ipv4: string[];
  ipv6: string[];
  /** Link speed; null when the driver does not say (wireless links often). */
  speedMbps: number | null;
  wireless: boolean;
}

/** `interface_status`: every network interface of the device. */
export interface InterfaceStatusOutput {
  interfaces: InterfaceStatus[];
}

/** `wifi_scan`: the wireless networks in range. */
export interface WifiScanOutput {
  networks: {
    ssid: string;
    bssid: string;
    channel: number;
    frequencyMhz: number;
    signalDbm: number;
    /** `open`, `wep`, `wpa2`, `wpa3`, ... */
    security: string;
  }[];
}

/** `arp_table`: the device's neighbour table. */
export interface ArpTableOutput {
  entries: {
    address: string;
    mac: string | null;
    interface: string;
    /** The kernel's neighbour state: `reachable`, `stale`, `failed`, ... */
    state: string;
  }[];
}

/** `restart_interface`: the interface taken down and up again. */
export interface RestartInterfaceOutput {
  interface: string;
  up: boolean;
}

/** `renew_dhcp`: the lease obtained; address null when no server answered. */
export interface RenewDhcpOutput {
  interface: string;
  address: string | null;
  leaseSec: number | null;
}

/** `flush_dns`: the device's resolver cache emptied. */
export interface FlushDnsOutput {
  flushed: boolean;
}

/** `set_dns_servers`: the resolvers the interface now uses. */
export interface SetDnsServersOutput {
  interface: string;
  servers: string[];
}

/** `restart_agent`: the agent restarts once it has answered. */
export interface RestartAgentOutput {
  restarting: boolean;
}

/** `reboot`: the device reboots once it has answered. */
export interface RebootOutput {
  rebootingAt: string;
}

/** Each type's `output`, by type: the documented contract of results. */
export interface CommandOutputs {
  ping: PingOutput;
  traceroute: TracerouteOutput;
  dns_lookup: DnsLookupOutput;
  http_check: HttpCheckOutput;
  port_check: PortCheckOutput;
  speed_test: SpeedTestOutput;
  interface_status: InterfaceStatusOutput;
  wifi_scan: WifiScanOutput;
  arp_table: ArpTableOutput;
  restart_interface: RestartInterfaceOutput;
  renew_dhcp: RenewDhcpOutput;
  flush_dns: FlushDnsOutput;
  set_dns_servers: SetDnsServersOutput;
  restart_agent: RestartAgentOutput;
  reboot: RebootOutput;
}

export type CommandType = keyof CommandOutputs;

/** The catalogue (README.md#the-command-catalogue): one declaration per type, typed so that a type without one fails to compile. */
export const COMMAND_CATALOGUE: Readonly<Record<CommandType, CommandTypeDeclaration>> = {
  ping: {
    risk: 'diagnostic',
    params: PingParamsDto,
    timeoutSec: { default: 30, max: 120 },
    summary: 'ICMP echo to a host, count times',
  },
  traceroute: {
    risk: 'diagnostic',
    params: TracerouteParamsDto,
    timeoutSec: { default: 60, max: 300 },
    summary: 'The route to a host, up to maxHops routers',
  },
  dns_lookup: {
    risk: 'diagnostic',
    params: DnsLookupParamsDto,
    timeoutSec: { default: 15, max: 60 },
    summary: "One DNS query, to the device's resolver or a given one",
  },
  http_check: {
    risk: 'diagnostic',
    params: HttpCheckParamsDto,
    timeoutSec: { default: 30, max: 120 },
    summary: 'One http(s) request from the device',
  },
  port_check: {
    risk: 'diagnostic',
    params: PortCheckParamsDto,
    timeoutSec: { default: 15, max: 60 },
    summary: "Whether a host's TCP port accepts connections",
  },
  speed_test: {
    risk: 'diagnostic',
    params: null,
    timeoutSec: { default: 90, max: 300 },
    summary: 'Download and upload throughput',
  },
  interface_status: {
    risk: 'diagnostic',
    params: null,
    timeoutSec: { default: 10, max: 60 },
    summary: "The device's network interfaces and addresses",
  },
  wifi_scan: {
    risk: 'diagnostic',
    params: null,
    timeoutSec: { default: 30, max: 120 },
    summary: 'The wireless networks in range',
  },
  arp_table: {
    risk: 'diagnostic',
    params: null,
    timeoutSec: { default: 10, max: 60 },
    summary: "The device's neighbour (ARP/NDP) table",
  },
  restart_interface: {
    risk: 'remediation',
    params: InterfaceParamsDto,
    timeoutSec: { default: 60, max: 300 },
    summary: 'Takes an interface down and up again',
  },
  renew_dhcp: {
    risk: 'remediation',
    params: InterfaceParamsDto,
    timeoutSec: { default: 60, max: 300 },
    summary: "Renews an interface's DHCP lease",
  },
  flush_dns: {
    risk: 'remediation',
    params: null,
    timeoutSec: { default: 15, max: 60 },
    summary: "Empties the device's DNS cache",
  },
  set_dns_servers: {
    risk: 'remediation',
    params: SetDnsServersParamsDto,
    timeoutSec: { default: 30, max: 120 },
    summary: 'Sets the resolvers of an interface (1 to 4 IP addresses)',
  },
  restart_agent: {
    risk: 'remediation',
    params: null,
    timeoutSec: { default: 60, max: 300 },
    summary: 'Restarts the agent',
  },
  reboot: {
    risk: 'remediation',
    params: null,
    timeoutSec: { default: 300, max: 900 },
    summary: 'Reboots the device',
  },
};

export const COMMAND_TYPES = Object.keys(COMMAND_CATALOGUE) as CommandType[];

export function isCommandType(value: unknown): value is CommandType {
  return typeof value === 'string' && Object.hasOwn(COMMAND_CATALOGUE, value);
}

/** The schema of a type that takes no parameters: an empty object, nothing in it. */
const NO_PARAMS_SCHEMA: JsonSchema = { type: 'object', properties: {}, additionalProperties: false };

/** The JSON Schema of a type's `params`, as served to clients and checked by the gateway. */
export function paramsSchemaOf(type: CommandType): JsonSchema {
  const dto = COMMAND_CATALOGUE[type].params;
  return dto === null ? NO_PARAMS_SCHEMA : jsonSchemaOf(dto);
}

const validators = new Map<CommandType, ValidateFunction>();

/**
 * A command's `params` checked against its type's schema, with the app's one ajv. Field errors are
 * named from the request body (`params.host`), where a client finds them.
 */
export function checkCommandParams(
  type: CommandType,
  params: unknown,
): { value: Record<string, unknown> } | { errors: FieldError[] } {
  let validate = validators.get(type);
  if (!validate) {
    validate = compileSchema(paramsSchemaOf(type));
    validators.set(type, validate);
  }
  if (validate(params)) return { value: params as Record<string, unknown> };
  return {
    errors: (validate.errors ?? []).map((violation) =>
      toFieldError({ ...violation, instancePath: `/params${violation.instancePath}` }),
    ),
  };
}

/** The timeout a command of this type runs with: the one asked for, within 1..max, or the type's default. */
export function checkTimeout(
  type: CommandType,
  requestedSec: number | undefined,
): { value: number } | { errors: FieldError[] } {
  const { timeoutSec } = COMMAND_CATALOGUE[type];
  if (requestedSec === undefined) return { value: timeoutSec.default };
  if (Number.isInteger(requestedSec) && requestedSec >= 1 && requestedSec <= timeoutSec.max) {
    return { value: requestedSec };
  }
  return {
    errors: [
      {
        field: 'timeoutSec',
        message: `timeoutSec must be an integer from 1 to ${timeoutSec.max} for ${type}`,
      },
    ],
  };
}

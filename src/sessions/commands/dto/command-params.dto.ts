import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { IsHttpUrl, IsIpAddress, IsNetworkHost } from '../../../common/validation/network-address';

/**
 * The parameters of each command type (README.md#the-command-catalogue), the one source of their rules: served as JSON Schema
 * and checked with it before anything is stored or sent. Nothing free-form reaches a device: every string
 * is a host, an address, a URL, an interface name or one of a fixed set of words.
 */

/** A Linux network interface name: at most 15 characters, no `/`, no spaces, not starting with `-`. */
const INTERFACE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const INTERFACE_NAME_MESSAGE = {
  message: 'interface must be a network interface name such as eth0 or wlan0',
};

export const DNS_RECORD_TYPES = ['A', 'AAAA', 'MX', 'TXT', 'CNAME', 'NS'] as const;
export type DnsRecordType = (typeof DNS_RECORD_TYPES)[number];

export const HTTP_CHECK_METHODS = ['GET', 'HEAD'] as const;
export type HttpCheckMethod = (typeof HTTP_CHECK_METHODS)[number];

export class PingParamsDto {
  @IsNetworkHost()
  host!: string;

  @IsInt()
  @Min(1)
  @Max(20)
  count!: number;
}

export class TracerouteParamsDto {
  @IsNetworkHost()
  host!: string;

  @IsInt()
  @Min(1)
  @Max(64)
  maxHops!: number;
}

export class DnsLookupParamsDto {
  @IsNetworkHost()
  name!: string;

  @IsIn(DNS_RECORD_TYPES)
  recordType!: DnsRecordType;

  /** The resolver to ask; the device's own when omitted. */
  @IsOptional()
  @IsNetworkHost()
  server?: string;
}

export class HttpCheckParamsDto {
  @IsHttpUrl()
  url!: string;

  @IsIn(HTTP_CHECK_METHODS)
  method!: HttpCheckMethod;
}

export class PortCheckParamsDto {
  @IsNetworkHost()
  host!: string;

  @IsInt()
  @Min(1)
  @Max(65535)
  port!: number;
}

export class InterfaceParamsDto {
  @Matches(INTERFACE_NAME, INTERFACE_NAME_MESSAGE)
  interface!: string;
}

export class SetDnsServersParamsDto {
  @Matches(INTERFACE_NAME, INTERFACE_NAME_MESSAGE)
  interface!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(4)
  @IsIpAddress({ each: true })
  servers!: string[];
}

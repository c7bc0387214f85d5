import { buildMessage, isFQDN, isIP, ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * Hosts, IP addresses and URLs that a device is asked to reach. Each rule is one function, used both by
 * class-validator (the DTOs' own rule) and, as a named JSON Schema format, by the app's ajv (what requests
 * and socket payloads are checked with), so the two can never disagree.
 */

/** Characters a host may be written with: DNS labels (letters, digits, `-`, `_`, `.`) and IP literals (`:`). */
const HOST_CHARACTERS = /^[A-Za-z0-9._:-]+$/;

/** RFC 1035's limit on a domain name as written. */
export const MAX_HOST_LENGTH = 253;

export const MAX_URL_LENGTH = 2048;

/**
 * The characters RFC 3986 allows in a URL (unreserved, reserved and `%` of percent-encodings): anything
 * else (spaces, quotes, backslashes, backticks, `<>{}|^`, controls, non-ASCII) must arrive encoded.
 */
const URL_CHARACTERS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;

/**
 * A hostname (one or more DNS labels, a bare LAN name like `router` included, underscores allowed as in
 * service names, an optional trailing dot) or an IPv4 or IPv6 literal. Nothing else: no spaces, no shell
 * metacharacters, no label starting with `-` (which a command line would read as an option), no all-digit
 * last label (`999.1.1.1` is neither an address nor a name), no zone ids, no Unicode (IDNs arrive in
 * their `xn--` form).
 */
export function isNetworkHost(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > MAX_HOST_LENGTH || !HOST_CHARACTERS.test(value)) {
    return false;
  }
  return (
    isIP(value) ||
    isFQDN(value, {
      require_tld: false,
      allow_underscores: true,
      allow_trailing_dot: true,
      allow_numeric_tld: false,
    })
  );
}

/** An IPv4 or IPv6 literal, without a zone id. */
export function isIpAddress(value: unknown): boolean {
  return typeof value === 'string' && HOST_CHARACTERS.test(value) && isIP(value);
}

/**
 * An absolute http or https URL, written as RFC 3986 allows, whose host is a network host as written
 * (not as a URL parser would rewrite it: `http://1.2.3` parses as 1.2.0.3), without user credentials
 * (which would travel to the device and into its logs).
 */
export function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > MAX_URL_LENGTH || !URL_CHARACTERS.test(value)) {
    return false;
  }
  const authority = /^https?:\/\/([^/?#]*)/i.exec(value)?.[1];
  if (authority === undefined || authority.includes('@') || !URL.canParse(value)) return false;
  const host = authority.startsWith('[')
    ? authority.slice(1, authority.indexOf(']'))
    : authority.replace(/:\d*$/, '');
  return isNetworkHost(host);
}

export const IS_NETWORK_HOST = 'isNetworkHost';
export const IS_IP_ADDRESS = 'isIpAddress';
export const IS_HTTP_URL = 'isHttpUrl';

/** The JSON Schema format of each rule, by its class-validator name; registered with the app's ajv. */
export const NETWORK_ADDRESS_FORMATS = {
  [IS_NETWORK_HOST]: { format: 'network-host', maxLength: MAX_HOST_LENGTH, validate: isNetworkHost },
  [IS_IP_ADDRESS]: { format: 'ip-address', maxLength: 45, validate: isIpAddress },
  [IS_HTTP_URL]: { format: 'http-url', maxLength: MAX_URL_LENGTH, validate: isHttpUrl },
} as const;

export function IsNetworkHost(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: IS_NETWORK_HOST,
      validator: {
        validate: isNetworkHost,
        defaultMessage: buildMessage(
          (each) => `${each}$property must be a hostname or an IP address`,
          options,
        ),
      },
    },
    options,
  );
}

export function IsIpAddress(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: IS_IP_ADDRESS,
      validator: {
        validate: isIpAddress,
        defaultMessage: buildMessage((each) => `${each}$property must be an IP address`, options),
      },
    },
    options,
  );
}

export function IsHttpUrl(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: IS_HTTP_URL,
      validator: {
        validate: isHttpUrl,
        defaultMessage: buildMessage((each) => `${each}$property must be an http or https URL`, options),
      },
    },
    options,
  );
}

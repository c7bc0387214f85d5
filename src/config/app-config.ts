import { applyDecorators } from '@nestjs/common';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEnum,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  MinLength,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  validateSync,
  ValidateIf,
  type ValidationError,
} from 'class-validator';

export enum DataBackend {
  Embedded = 'embedded',
  Postgres = 'postgres',
  Supabase = 'supabase',
}

export enum CacheBackend {
  Memory = 'memory',
  Redis = 'redis',
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

type RawValue = string | undefined;

/** Integers only: "12abc", "1.5" and "abc" stay malformed instead of being half-parsed. */
function toInteger({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  return /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
}

/**
 * An integer variable within bounds, with one message naming the variable and its range whichever rule
 * fails ("12abc", "1.5" and "abc" stay malformed instead of being half-parsed).
 */
function IntegerBetween(min: number, max: number): PropertyDecorator {
  const message = `$property must be an integer between ${min} and ${max}`;
  return applyDecorators(
    Transform(toInteger),
    IsInt({ message }),
    Min(min, { message }),
    Max(max, { message }),
  );
}

function toBoolean({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(normalized)) return true;
  if (['false', '0', 'no'].includes(normalized)) return false;
  return value;
}

/**
 * The gateway's whole configuration, read once from the environment at start-up. Property names are
 * the environment variable names, so a validation message names the variable the operator must fix.
 */
export class AppConfig {
  @IsString()
  HOST = '0.0.0.0';

  @IntegerBetween(0, 65535)
  PORT = 3000;

  @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevel = 'info';

  /** Pretty, human-readable logs for a terminal; JSON (the default) for everything else. */
  @Transform(toBoolean)
  @IsBoolean({ message: 'LOG_PRETTY must be true or false' })
  LOG_PRETTY = false;

  @IsEnum(DataBackend, { message: 'DATA_BACKEND must be one of embedded, postgres, supabase' })
  DATA_BACKEND: DataBackend = DataBackend.Embedded;

  @IsString()
  @IsNotEmpty()
  DATA_DIR = './data';

  @ValidateIf((config: AppConfig) => config.DATA_BACKEND === DataBackend.Postgres)
  @Matches(/^postgres(ql)?:\/\/.+/, {
    message: 'DATABASE_URL must be a postgres:// URL when DATA_BACKEND=postgres',
  })
  DATABASE_URL?: string;

  @IntegerBetween(1, 100)
  DATABASE_POOL_MAX = 10;

  /**
   * Longest one database call may take, waiting for a pooled connection included (postgres) or the HTTP
   * round trip to the data API (supabase); past it the call fails and the request is answered 503.
   * Embedded PGlite runs each statement synchronously in the process, where no timer can cut it short.
   */
  @IntegerBetween(100, 60000)
  DATABASE_TIMEOUT_MS = 5000;

  /** The Supabase project: its data API (DATA_BACKEND=supabase) and the JWKS customer tokens are checked with. */
  @ValidateIf(
    (config: AppConfig) => config.DATA_BACKEND !== DataBackend.Embedded || config.SUPABASE_URL !== undefined,
  )
  @IsUrl(
    { require_tld: false, protocols: ['http', 'https'], require_protocol: true },
    { message: 'SUPABASE_URL must be an http(s) URL; it is required unless DATA_BACKEND=embedded' },
  )
  SUPABASE_URL?: string;

  @ValidateIf((config: AppConfig) => config.DATA_BACKEND === DataBackend.Supabase)
  @IsString({ message: 'SUPABASE_SERVICE_ROLE_KEY is required when DATA_BACKEND=supabase' })
  @IsNotEmpty({ message: 'SUPABASE_SERVICE_ROLE_KEY is required when DATA_BACKEND=supabase' })
  SUPABASE_SERVICE_ROLE_KEY?: string;

  @IsEnum(CacheBackend, { message: 'CACHE_BACKEND must be one of memory, redis' })
  CACHE_BACKEND: CacheBackend = CacheBackend.Memory;

  @ValidateIf((config: AppConfig) => config.CACHE_BACKEND === CacheBackend.Redis)
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** Prefix of every key and channel the gateway uses, so that several deployments can share one Redis. */
  @Matches(/^[A-Za-z0-9:_.-]{1,64}$/, {
    message: 'REDIS_KEY_PREFIX must be 1 to 64 characters of letters, digits, ":", "_", "." or "-"',
  })
  REDIS_KEY_PREFIX = 'gw:';

  /** Longest wait between two reconnection attempts to Redis; attempts go on until it is back. */
  @IntegerBetween(50, 60000)
  REDIS_RECONNECT_MAX_DELAY_MS = 2000;

  /** Longest wait for one Redis command; past it the command fails instead of queueing. */
  @IntegerBetween(50, 60000)
  REDIS_COMMAND_TIMEOUT_MS = 1000;

  /**
   * HS256 secret of the Supabase project. Only when set are HS256 access tokens accepted; otherwise only
   * the asymmetric keys published at SUPABASE_URL's JWKS endpoint are.
   */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'SUPABASE_JWT_SECRET must be at least 32 characters' })
  SUPABASE_JWT_SECRET?: string;

  /** Keyed-hash pepper for device secrets. Generated into DATA_DIR in embedded mode. */
  @ValidateIf(
    (config: AppConfig) =>
      config.DATA_BACKEND !== DataBackend.Embedded || config.DEVICE_SECRET_PEPPER !== undefined,
  )
  @IsString({ message: 'DEVICE_SECRET_PEPPER is required unless DATA_BACKEND=embedded' })
  @MinLength(32, { message: 'DEVICE_SECRET_PEPPER must be at least 32 characters' })
  DEVICE_SECRET_PEPPER?: string;

  /** Backend services: `name:key` pairs, comma separated; keys of at least 32 characters. */
  @IsOptional()
  @Matches(/^[a-z][a-z0-9_-]{0,31}:[^,:\s]{32,}(,[a-z][a-z0-9_-]{0,31}:[^,:\s]{32,})*$/, {
    message: 'SERVICE_KEYS must be comma-separated name:key pairs (lower-case names, keys of 32+ characters)',
  })
  SERVICE_KEYS?: string;

  /** How often agents send heartbeats; presence turns stale after 1.5 and offline after 3 intervals. */
  @IntegerBetween(1, 3600)
  HEARTBEAT_INTERVAL_SEC = 30;

  /** Told to agents at registration: how long a sent command may wait for its ack. */
  @IntegerBetween(1, 3600)
  COMMAND_ACK_TIMEOUT_SEC = 30;

  /** Commands one device runs at once (sent, delivered or running); the next goes out when one ends. */
  @IntegerBetween(1, 100)
  COMMAND_MAX_IN_FLIGHT_PER_DEVICE = 1;

  /** Deliveries of a command that go unacknowledged before it fails as `undeliverable`. */
  @IntegerBetween(1, 100)
  COMMAND_MAX_ATTEMPTS = 3;

  /** A command not delivered this long after it was issued expires (the device was away too long). */
  @IntegerBetween(1, 604800)
  COMMAND_EXPIRY_SEC = 3600;

  /** Largest `output` of a command result (its JSON text); a larger result is refused with 413. */
  @IntegerBetween(1024, 8388608)
  COMMAND_OUTPUT_MAX_BYTES = 262144;

  /** How often each instance looks for commands whose clock (ack, execution, expiry) has passed. */
  @IntegerBetween(20, 60000)
  COMMAND_SWEEP_INTERVAL_MS = 1000;

  /** At most one heartbeat payload per device is written to the database per this interval. */
  @IntegerBetween(1, 86400)
  HEARTBEAT_PERSIST_INTERVAL_SEC = 60;

  /**
   * Longest a throttled heartbeat payload waits in this instance before it is written, in one statement
   * with the others waiting; a crash loses at most this much of them (never a presence transition).
   */
  @IntegerBetween(10, 60000)
  PRESENCE_FLUSH_INTERVAL_MS = 1000;

  /** Payloads written per statement; once this many devices wait, they are written without waiting more. */
  @IntegerBetween(1, 10000)
  PRESENCE_FLUSH_MAX_ROWS = 500;

  /**
   * How long one read of the cluster's devices by presence state (the devices_by_presence metric) serves
   * scrapes, so that a scrape storm or many instances cost one query per this interval each.
   */
  @IntegerBetween(0, 600000)
  METRICS_PRESENCE_CACHE_MS = 5000;

  /** How often each instance looks for devices whose presence deadline has passed. */
  @IntegerBetween(50, 60000)
  PRESENCE_SWEEP_INTERVAL_MS = 1000;

  /**
   * How often each instance expires remediation plans left undecided past their expiresAt and moves on
   * plans whose current step ended without anyone issuing the next (its instance stopped meanwhile).
   */
  @IntegerBetween(50, 60000)
  REMEDIATION_SWEEP_INTERVAL_MS = 1000;

  /** A remediation step's command not delivered within this long of its issue expires, failing its plan. */
  @IntegerBetween(10, 86400)
  REMEDIATION_STEP_EXPIRY_SEC = 600;

  /**
   * How long an instance trusts what it read of a device id: its verified credential, or that no live
   * device has it (unknown or revoked). Revocations and creations are broadcast to every instance at once;
   * this bound only matters if that broadcast is lost. 0 remembers nothing (a database read per attempt).
   */
  @IntegerBetween(0, 3600000)
  DEVICE_AUTH_CACHE_TTL_MS = 60000;

  /**
   * How many device ids an instance remembers, verified and refused together: a client trying random ids
   * pushes out the oldest entries instead of growing memory. One bound and one lifetime for both kinds,
   * so that whether an id is still remembered (answered without a database read) tells nothing about
   * whether it exists.
   */
  @IntegerBetween(1, 10000000)
  DEVICE_AUTH_CACHE_MAX_ENTRIES = 200000;

  /**
   * Origins allowed to open portal sockets from a browser, comma separated, or `*`. Empty: no CORS
   * headers (same-origin portal, or non-browser clients such as agents).
   */
  @IsOptional()
  @Matches(/^(\*|https?:\/\/[^,\s]+(,https?:\/\/[^,\s]+)*)$/, {
    message: 'SOCKET_CORS_ORIGINS must be * or comma-separated http(s) origins',
  })
  SOCKET_CORS_ORIGINS?: string;

  /**
   * Largest Socket.IO message; a larger one closes the connection (the engine refuses to buffer it). It
   * must admit a command result with the largest output (COMMAND_OUTPUT_MAX_BYTES) and its envelope.
   */
  @IntegerBetween(1024, 10485760)
  SOCKET_MAX_MESSAGE_BYTES = 327680;

  /** Devices one portal socket may subscribe to individually (its customer room covers its own devices). */
  @IntegerBetween(1, 100000)
  SOCKET_MAX_SUBSCRIPTIONS = 500;

  /** A client that reconnects within this window gets the events it missed (0 disables recovery). */
  @IntegerBetween(0, 3600000)
  SOCKET_RECOVERY_WINDOW_MS = 120000;

  /** Time each readiness check may take before it counts as down. */
  @IntegerBetween(50, 30000)
  HEALTH_CHECK_TIMEOUT_MS = 1000;

  /**
   * Told to clients (Retry-After, and `retryAfterSec` in the problem) when a request fails because the
   * database, the cache or the identity provider is unavailable: how long to wait before trying again.
   */
  @IntegerBetween(1, 3600)
  DEPENDENCY_RETRY_AFTER_SEC = 5;

  /** Largest accepted request body (a command result's route admits COMMAND_OUTPUT_MAX_BYTES more). */
  @IntegerBetween(1024, 10485760)
  BODY_LIMIT_BYTES = 65536;

  /**
   * Time a client has from opening a connection (or finishing its previous request) to sending all the
   * headers of a request; past it the connection gets a 408 and is closed.
   */
  @IntegerBetween(100, 600000)
  HTTP_HEADERS_TIMEOUT_MS = 10000;

  /**
   * Time a client has to send a whole request, body included. The default lets a 64 KiB body through a
   * link of about 20 kbit/s; a client that stops sending is cut off instead of holding the connection.
   */
  @IntegerBetween(100, 600000)
  HTTP_REQUEST_TIMEOUT_MS = 30000;

  /** How long a keep-alive connection may sit idle between two requests before it is closed. */
  @IntegerBetween(100, 600000)
  HTTP_IDLE_TIMEOUT_MS = 10000;

  /**
   * Open connections (HTTP and sockets) one process accepts; past it a new connection gets a 503 and is
   * closed. Lowered at start-up to fit the process's open-files limit.
   */
  @IntegerBetween(1, 1000000)
  HTTP_MAX_CONNECTIONS = 16384;

  /**
   * After SIGTERM, how long readiness reports 503 while requests are still served, so that a load
   * balancer stops sending new traffic before the listener closes.
   */
  @IntegerBetween(0, 60000)
  SHUTDOWN_DRAIN_DELAY_MS = 0;

  /** Whole time allowed from SIGTERM to exit; past it the process exits non-zero. */
  @IntegerBetween(1000, 600000)
  SHUTDOWN_GRACE_MS = 25000;

  /** Reported by /version; set by the build or the deployment. */
  @IsOptional()
  @IsString()
  BUILD_COMMIT?: string;
}

/** Variables without a default, which `new AppConfig()` does not list. */
const OPTIONAL_VARIABLES = [
  'DATABASE_URL',
  'SUPABASE_URL',
  'SUPABASE_SERVICE_ROLE_KEY',
  'SUPABASE_JWT_SECRET',
  'DEVICE_SECRET_PEPPER',
  'SERVICE_KEYS',
  'SOCKET_CORS_ORIGINS',
  'BUILD_COMMIT',
];

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/** Values never echoed in a configuration error: start-up output usually lands in shared logs. */
const SECRET_VARIABLES = new Set([
  'DEVICE_SECRET_PEPPER',
  'SUPABASE_JWT_SECRET',
  'SUPABASE_SERVICE_ROLE_KEY',
  'SERVICE_KEYS',
  'DATABASE_URL',
  'REDIS_URL',
]);

function describe(errors: ValidationError[], raw: Record<string, RawValue>): string[] {
  return errors.flatMap((error) => {
    const messages = Object.values(error.constraints ?? {});
    const given = raw[error.property];
    // For a missing variable, "is required" says it all; its format rules would only repeat it.
    const unique = given === undefined ? [...new Set(messages)].slice(-1) : [...new Set(messages)];
    const suffix =
      given === undefined
        ? ' (not set)'
        : SECRET_VARIABLES.has(error.property)
          ? ` (got ${given.length} characters, not shown)`
          : ` (got "${given}")`;
    return unique.map((message) => `${message}${suffix}`);
  });
}

/**
 * Room a command result needs beside its output: the command id, status, error and the framing. An
 * over-size output still arrives whole (and is answered 413) as long as it is at most this much larger.
 */
export const COMMAND_RESULT_ENVELOPE_BYTES = 3072;

/** Rules between variables, checked once each variable is valid on its own. */
function crossFieldProblems(config: AppConfig, errors: ValidationError[]): string[] {
  const invalid = new Set(errors.map((error) => error.property));
  const problems: string[] = [];
  if (
    !invalid.has('HTTP_HEADERS_TIMEOUT_MS') &&
    !invalid.has('HTTP_REQUEST_TIMEOUT_MS') &&
    config.HTTP_HEADERS_TIMEOUT_MS > config.HTTP_REQUEST_TIMEOUT_MS
  ) {
    problems.push(
      `HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS (got ${config.HTTP_HEADERS_TIMEOUT_MS} > ${config.HTTP_REQUEST_TIMEOUT_MS})`,
    );
  }
  if (
    !invalid.has('PRESENCE_FLUSH_INTERVAL_MS') &&
    !invalid.has('HEARTBEAT_PERSIST_INTERVAL_SEC') &&
    config.PRESENCE_FLUSH_INTERVAL_MS > config.HEARTBEAT_PERSIST_INTERVAL_SEC * 1000
  ) {
    // A device's payload must be written before its next one is due, which another instance may receive.
    problems.push(
      `PRESENCE_FLUSH_INTERVAL_MS must not exceed HEARTBEAT_PERSIST_INTERVAL_SEC × 1000 (got ${config.PRESENCE_FLUSH_INTERVAL_MS} > ${config.HEARTBEAT_PERSIST_INTERVAL_SEC * 1000})`,
    );
  }
  if (
    !invalid.has('SOCKET_MAX_MESSAGE_BYTES') &&
    !invalid.has('COMMAND_OUTPUT_MAX_BYTES') &&
    config.SOCKET_MAX_MESSAGE_BYTES < config.COMMAND_OUTPUT_MAX_BYTES + COMMAND_RESULT_ENVELOPE_BYTES
  ) {
    // A socket result with an output the limit admits would otherwise close the agent's connection.
    problems.push(
      `SOCKET_MAX_MESSAGE_BYTES must be at least COMMAND_OUTPUT_MAX_BYTES + ${COMMAND_RESULT_ENVELOPE_BYTES} (got ${config.SOCKET_MAX_MESSAGE_BYTES} < ${config.COMMAND_OUTPUT_MAX_BYTES + COMMAND_RESULT_ENVELOPE_BYTES})`,
    );
  }
  return problems;
}

/**
 * Reads and validates the configuration from an environment record. Every problem is reported at once,
 * so an operator fixes a broken deployment in one round.
 */
/** Variables that hold a credential: a deployment keeps them in a secret store, never in plain config. */
export function secretVariables(): string[] {
  return [...SECRET_VARIABLES];
}

/** Every variable the gateway reads. */
export function configVariables(): string[] {
  return [...new Set([...Object.keys(new AppConfig()), ...OPTIONAL_VARIABLES])];
}

export function loadConfig(env: Record<string, RawValue>): AppConfig {
  const relevant: Record<string, RawValue> = {};
  for (const key of configVariables()) {
    const value = env[key];
    // `FOO=` in a .env file means "not set", not a malformed value.
    if (value !== undefined && value.trim() !== '') relevant[key] = value;
  }
  const config = plainToInstance(AppConfig, relevant, { exposeDefaultValues: true });
  const errors = validateSync(config, { forbidUnknownValues: true });
  const problems = [...describe(errors, relevant), ...crossFieldProblems(config, errors)];
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return config;
}

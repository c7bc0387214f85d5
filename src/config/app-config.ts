import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEnum,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
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

  @Transform(toInteger)
  @IsInt({ message: 'PORT must be an integer between 0 and 65535' })
  @Min(0, { message: 'PORT must be an integer between 0 and 65535' })
  @Max(65535, { message: 'PORT must be an integer between 0 and 65535' })
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

  @Transform(toInteger)
  @IsInt({ message: 'DATABASE_POOL_MAX must be an integer between 1 and 100' })
  @Min(1, { message: 'DATABASE_POOL_MAX must be an integer between 1 and 100' })
  @Max(100, { message: 'DATABASE_POOL_MAX must be an integer between 1 and 100' })
  DATABASE_POOL_MAX = 10;

  /** Upper bound for one database round trip, on every backend. */
  @Transform(toInteger)
  @IsInt({ message: 'DATABASE_TIMEOUT_MS must be an integer between 100 and 60000' })
  @Min(100, { message: 'DATABASE_TIMEOUT_MS must be an integer between 100 and 60000' })
  @Max(60000, { message: 'DATABASE_TIMEOUT_MS must be an integer between 100 and 60000' })
  DATABASE_TIMEOUT_MS = 5000;

  @ValidateIf((config: AppConfig) => config.DATA_BACKEND === DataBackend.Supabase)
  @IsUrl(
    { require_tld: false, protocols: ['http', 'https'], require_protocol: true },
    { message: 'SUPABASE_URL must be an http(s) URL when DATA_BACKEND=supabase' },
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
  @Transform(toInteger)
  @IsInt({ message: 'REDIS_RECONNECT_MAX_DELAY_MS must be an integer between 50 and 60000' })
  @Min(50, { message: 'REDIS_RECONNECT_MAX_DELAY_MS must be an integer between 50 and 60000' })
  @Max(60000, { message: 'REDIS_RECONNECT_MAX_DELAY_MS must be an integer between 50 and 60000' })
  REDIS_RECONNECT_MAX_DELAY_MS = 2000;

  /** Longest wait for one Redis command; past it the command fails instead of queueing. */
  @Transform(toInteger)
  @IsInt({ message: 'REDIS_COMMAND_TIMEOUT_MS must be an integer between 50 and 60000' })
  @Min(50, { message: 'REDIS_COMMAND_TIMEOUT_MS must be an integer between 50 and 60000' })
  @Max(60000, { message: 'REDIS_COMMAND_TIMEOUT_MS must be an integer between 50 and 60000' })
  REDIS_COMMAND_TIMEOUT_MS = 1000;

  /** Time each readiness check may take before it counts as down. */
  @Transform(toInteger)
  @IsInt({ message: 'HEALTH_CHECK_TIMEOUT_MS must be an integer between 50 and 30000' })
  @Min(50, { message: 'HEALTH_CHECK_TIMEOUT_MS must be an integer between 50 and 30000' })
  @Max(30000, { message: 'HEALTH_CHECK_TIMEOUT_MS must be an integer between 50 and 30000' })
  HEALTH_CHECK_TIMEOUT_MS = 1000;

  /** Largest accepted request body. */
  @Transform(toInteger)
  @IsInt({ message: 'BODY_LIMIT_BYTES must be an integer between 1024 and 10485760' })
  @Min(1024, { message: 'BODY_LIMIT_BYTES must be an integer between 1024 and 10485760' })
  @Max(10485760, { message: 'BODY_LIMIT_BYTES must be an integer between 1024 and 10485760' })
  BODY_LIMIT_BYTES = 65536;

  /**
   * After SIGTERM, how long readiness reports 503 while requests are still served, so that a load
   * balancer stops sending new traffic before the listener closes.
   */
  @Transform(toInteger)
  @IsInt({ message: 'SHUTDOWN_DRAIN_DELAY_MS must be an integer between 0 and 60000' })
  @Min(0, { message: 'SHUTDOWN_DRAIN_DELAY_MS must be an integer between 0 and 60000' })
  @Max(60000, { message: 'SHUTDOWN_DRAIN_DELAY_MS must be an integer between 0 and 60000' })
  SHUTDOWN_DRAIN_DELAY_MS = 0;

  /** Whole time allowed from SIGTERM to exit; past it the process exits non-zero. */
  @Transform(toInteger)
  @IsInt({ message: 'SHUTDOWN_GRACE_MS must be an integer between 1000 and 600000' })
  @Min(1000, { message: 'SHUTDOWN_GRACE_MS must be an integer between 1000 and 600000' })
  @Max(600000, { message: 'SHUTDOWN_GRACE_MS must be an integer between 1000 and 600000' })
  SHUTDOWN_GRACE_MS = 25000;

  /** Reported by /version; set by the build or the deployment. */
  @IsOptional()
  @IsString()
  BUILD_COMMIT?: string;
}

/** Variables without a default, which `new AppConfig()` does not list. */
const OPTIONAL_VARIABLES = ['DATABASE_URL', 'SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY', 'BUILD_COMMIT'];

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

function describe(errors: ValidationError[], raw: Record<string, RawValue>): string[] {
  return errors.flatMap((error) => {
    const messages = Object.values(error.constraints ?? {});
    const unique = [...new Set(messages)];
    const given = raw[error.property];
    const suffix = given === undefined ? ' (not set)' : ` (got "${given}")`;
    return unique.map((message) => `${message}${suffix}`);
  });
}

/**
 * Reads and validates the configuration from an environment record. Every problem is reported at once,
 * so an operator fixes a broken deployment in one round.
 */
export function loadConfig(env: Record<string, RawValue>): AppConfig {
  const known = Object.keys(new AppConfig());
  const relevant: Record<string, RawValue> = {};
  for (const key of new Set([...known, ...OPTIONAL_VARIABLES])) {
    const value = env[key];
    // `FOO=` in a .env file means "not set", not a malformed value.
    if (value !== undefined && value.trim() !== '') relevant[key] = value;
  }
  const config = plainToInstance(AppConfig, relevant, { exposeDefaultValues: true });
  const errors = validateSync(config, { forbidUnknownValues: true });
  if (errors.length > 0) {
    throw new ConfigValidationError(describe(errors, relevant));
  }
  return config;
}

import { type LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import { type AppConfig } from '../../config/app-config';

/**
 * Paths pino blanks out wherever they appear at these depths. Credentials must never reach a log line,
 * whatever object a caller happens to log.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
  ...['authorization', 'secret', 'token', 'accessToken', 'password', 'serviceKey', 'apiKey'].flatMap(
    (key) => [key, `*.${key}`, `*.*.${key}`],
  ),
];

export function createRootLogger(config: AppConfig, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.LOG_LEVEL,
    base: { service: 'netdiag-gateway' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (destination) return pino(options, destination);
  if (config.LOG_PRETTY) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino(options);
}

type Level = 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'fatal';

/**
 * Nest's logger interface over the same pino instance Fastify logs requests with. Nest calls
 * `logger.warn(messageOrFields, ...extra, context)`; an object becomes pino fields and a following
 * string its message.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly pino: Logger) {}

  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const last = params.at(-1);
    const context = params.length > 0 && typeof last === 'string' ? last : undefined;
    const extra = context === undefined ? params : params.slice(0, -1);
    const fields: Record<string, unknown> = context === undefined ? {} : { context };
    const text = extra.find((value): value is string => typeof value === 'string');
    if (message instanceof Error) {
      this.pino[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...message }, text);
    } else if (text !== undefined && text.includes('\n    at ')) {
      // Nest's own error(message, stack, context).
      this.pino[level]({ ...fields, stack: text }, String(message));
    } else {
      this.pino[level](fields, String(message));
    }
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }
}

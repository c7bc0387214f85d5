import { type DestinationStream } from 'pino';

export interface LogEntry {
  level: string;
  msg?: string;
  [field: string]: unknown;
}

/** A pino destination that keeps every line, so a test can read exactly what would reach stdout. */
export class CapturedLogs implements DestinationStream {
  readonly lines: string[] = [];

  write(line: string): void {
    this.lines.push(line);
  }

  get text(): string {
    return this.lines.join('');
  }

  entries(): LogEntry[] {
    return this.lines.map((line) => JSON.parse(line) as LogEntry);
  }
}

/**
 * The part of autocannon's API this benchmark uses. autocannon ships no type declarations; a local one
 * keeps @types/autocannon (which lags the package by a major version) out of the lockfile.
 */
declare module 'autocannon' {
  import { type EventEmitter } from 'node:events';

  interface Client extends EventEmitter {
    setHeaders(headers: Record<string, string> | undefined): void;
    setBody(body: string | Buffer | undefined): void;
    setHeadersAndBody(headers: Record<string, string> | undefined, body: string | Buffer | undefined): void;
  }

  interface Options {
    url: string;
    method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
    headers?: Record<string, string>;
    body?: string | Buffer;
    connections?: number;
    pipelining?: number;
    /** Seconds. */
    duration?: number;
    /** Seconds after which a request counts as timed out. */
    timeout?: number;
    setupClient?: (client: Client) => void;
    renderProgressBar?: boolean;
    renderResultsTable?: boolean;
    renderLatencyTable?: boolean;
  }

  interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p50: number;
    p90: number;
    p99: number;
    p99_9: number;
  }

  interface Result {
    duration: number;
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
    resets: number;
    '2xx': number;
    statusCodeStats: Record<string, { count: number }>;
    latency: Histogram;
    requests: Histogram & { sent: number };
    throughput: Histogram;
  }

  interface Instance extends EventEmitter, PromiseLike<Result> {
    stop(): void;
  }

  function autocannon(options: Options): Instance;

  export = autocannon;
}

/**
 * The part of autocannon's API bench:heartbeat uses. autocannon ships no type declarations; a local one
 * keeps @types/autocannon (which lags the package by a major version) out of the lockfile.
 */
declare module 'autocannon' {
  interface Client {
    setHeadersAndBody(headers: Record<string, string> | undefined, body: string | Buffer | undefined): void;
  }

  interface Options {
    url: string;
    method?: 'GET' | 'POST';
    connections?: number;
    /** Seconds. */
    duration?: number;
    /** Seconds after which a request counts as timed out. */
    timeout?: number;
    setupClient?: (client: Client) => void;
    renderProgressBar?: boolean;
    renderResultsTable?: boolean;
    renderLatencyTable?: boolean;
  }

  interface Result {
    errors: number;
    timeouts: number;
    non2xx: number;
    statusCodeStats: Record<string, { count: number }>;
    latency: { p99: number };
    requests: { total: number };
  }

  function autocannon(options: Options): PromiseLike<Result>;

  export = autocannon;
}

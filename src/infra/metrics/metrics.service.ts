import { Injectable } from '@nestjs/common';
import { DEPENDENCIES, type Dependency } from '../../common/errors/common.errors';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The Socket.IO namespaces whose connected sockets are counted. */
export type SocketNamespace = 'agent' | 'portal';

/** Which data backend a call went to (DATA_BACKEND). */
export type DataBackendName = 'postgres' | 'embedded' | 'supabase';

/**
 * The kind of a data-backend call: a SQL statement or a migration script (pg, PGlite), a SQL function
 * called through PostgREST, or a PostgREST table read or write (supabase).
 */
export type DataCallOperation = 'query' | 'script' | 'rpc' | 'read' | 'write';

/** The kind of a Redis call, as its caller names it. */
export type RedisCallOperation = 'command' | 'script' | 'pipeline' | 'publish' | 'ping';

/**
 * Why a call failed: the dependency was away, too slow or broken (answered 503), or it answered and
 * refused the call (a constraint, a script error).
 */
export type CallFailure = 'unavailable' | 'refused';

const CALL_FAILURES: readonly CallFailure[] = ['unavailable', 'refused'];

/** Devices by presence state, as one instance read them for the whole cluster; null when it could not. */
export type PresenceCounts = ReadonlyMap<string, number> | null;

/**
 * One call kind's series, resolved once: a call costs a clock read and two increments, nothing looked
 * up. `started` is a `performance.now()` reading.
 */
export interface CallObserver {
  settled(started: number, failure?: CallFailure): void;
}

class CallSeries implements CallObserver {
  constructor(
    private readonly duration: { observe(seconds: number): void },
    private readonly failures: Readonly<Record<CallFailure, { inc(): void }>>,
  ) {}

  settled(started: number, failure?: CallFailure): void {
    this.duration.observe((performance.now() - started) / 1000);
    if (failure) this.failures[failure].inc();
  }
}

/** For executors and clients built outside the app (command-line tools), which nobody scrapes. */
export const UNOBSERVED: CallObserver = { settled: () => undefined };

const CALL_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The process's Prometheus registry. Each app instance has its own (not prom-client's global one), so
 * several gateways in one test process do not collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by route template, method and status code',
    labelNames: ['route', 'method', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly authFailures = new Counter({
    name: 'auth_failures_total',
    help: 'Refused credentials, by principal kind and reason',
    labelNames: ['principal', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly presenceTransitions = new Counter({
    name: 'presence_transitions_total',
    help: 'Device presence transitions made by this instance, by new state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  private readonly dependencyUnavailable = new Counter({
    name: 'dependency_unavailable_total',
    help: 'Requests, socket events and handshakes answered 503 because a dependency failed or timed out, by dependency',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });

  private readonly presenceRecovered = new Counter({
    name: 'presence_recovered_devices_total',
    help: 'Devices whose hot presence this instance rebuilt from the database after the cache lost it',
    registers: [this.registry],
  });

  private readonly presenceWriteFailures = new Counter({
    name: 'presence_write_failures_total',
    help: 'Writes of heartbeat payloads that failed: for an outage their payloads stay queued (the newest per device) and are tried again; rows the database refused are written one by one and the refused ones dropped',
    registers: [this.registry],
  });

  private readonly commandsFinished = new Counter({
    name: 'commands_finished_total',
    help: 'Commands that reached a final status through this instance, by type and final status',
    labelNames: ['type', 'status'] as const,
    registers: [this.registry],
  });

  private readonly commandDuration = new Histogram({
    name: 'command_duration_seconds',
    help: "Time from a command's creation to its final status, in seconds, by type",
    labelNames: ['type'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  private readonly commandRedeliveries = new Counter({
    name: 'command_redeliveries_total',
    help: 'Commands sent and not acknowledged in time, put back in their queue by this instance, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  private queueDepthSource: (() => Promise<number>) | undefined;

  private readonly commandQueueDepth = new Gauge({
    name: 'command_queue_depth',
    help: "Commands waiting in their device's queue, across the deployment",
    registers: [this.registry],
    collect: async () => {
      const source = this.queueDepthSource;
      if (source) this.commandQueueDepth.set(await source().catch(() => Number.NaN));
    },
  });

  private waitingPollsSource: (() => number) | undefined;

  private readonly waitingPolls = new Gauge({
    name: 'agent_command_polls_waiting',
    help: 'Long polls of agents (GET /v1/agent/commands) waiting for a command on this instance',
    registers: [this.registry],
    collect: () => {
      this.waitingPolls.set(this.waitingPollsSource?.() ?? 0);
    },
  });

  private readonly presencePayloadsWritten = new Counter({
    name: 'presence_payloads_written_total',
    help: 'Heartbeat payloads this instance wrote to the database (one row each, written in batches)',
    registers: [this.registry],
  });

  private queuedPayloads: () => number = () => 0;

  private readonly presencePayloadsQueued = new Gauge({
    name: 'presence_payloads_queued',
    help: 'Devices whose throttled heartbeat payload waits in this instance for the next batch write; it grows while the database is away',
    registers: [this.registry],
    collect: () => {
      this.presencePayloadsQueued.set(this.queuedPayloads());
    },
  });

  private readonly socketCounts = new Map<SocketNamespace, () => number>();

  private readonly connectedSockets = new Gauge({
    name: 'socket_connections',
    help: 'Sockets connected to this instance, by namespace',
    labelNames: ['namespace'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [namespace, count] of this.socketCounts) this.connectedSockets.set({ namespace }, count());
    },
  });

  private presenceCounts: () => Promise<PresenceCounts> = () => Promise.resolve(null);
  private presenceScrape: Promise<PresenceCounts> | undefined;

  /**
   * The registry collects its metrics concurrently: the counts and their `_up` gauge share one read, so
   * that within one scrape they agree.
   */
  private readPresence(): Promise<PresenceCounts> {
    this.presenceScrape ??= this.presenceCounts().finally(() => {
      this.presenceScrape = undefined;
    });
    return this.presenceScrape;
  }

  private readonly devicesByPresence = new Gauge({
    name: 'devices_by_presence',
    help: 'Live devices of the whole cluster by recorded presence state (read from the database, cached briefly; every instance reports the same); absent while they cannot be read',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: async () => {
      const counts = await this.readPresence();
      this.devicesByPresence.reset();
      if (counts) for (const [state, devices] of counts) this.devicesByPresence.set({ state }, devices);
    },
  });

  private readonly devicesByPresenceUp = new Gauge({
    name: 'devices_by_presence_up',
    help: '1 when devices_by_presence could be read at this scrape (or from the cache), 0 when the database did not answer in time',
    registers: [this.registry],
    collect: async () => {
      this.devicesByPresenceUp.set((await this.readPresence()) ? 1 : 0);
    },
  });

  private readonly dataCallDuration = new Histogram({
    name: 'data_backend_call_duration_seconds',
    help: 'Calls to the data backend in seconds, by backend and operation kind, failed ones included',
    labelNames: ['backend', 'operation'] as const,
    buckets: CALL_BUCKETS,
    registers: [this.registry],
  });

  private readonly dataCallErrors = new Counter({
    name: 'data_backend_call_errors_total',
    help: 'Failed calls to the data backend, by backend, operation kind and failure (unavailable: answered 503; refused: the database answered with an error)',
    labelNames: ['backend', 'operation', 'failure'] as const,
    registers: [this.registry],
  });

  private readonly redisCallDuration = new Histogram({
    name: 'redis_call_duration_seconds',
    help: 'Calls to Redis through the command client in seconds (a pipeline or script is one call), by operation kind, failed ones included',
    labelNames: ['operation'] as const,
    buckets: CALL_BUCKETS,
    registers: [this.registry],
  });

  private readonly redisCallErrors = new Counter({
    name: 'redis_call_errors_total',
    help: 'Failed calls to Redis, by operation kind and failure (unavailable: down or timed out; refused: an error reply)',
    labelNames: ['operation', 'failure'] as const,
    registers: [this.registry],
  });

  private readonly plansEnded = new Counter({
    name: 'remediation_plans_ended_total',
    help: 'Remediation plans that reached a final status, counted by the instance that made the transition',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Every series exists from the start, so that a rate over the first outage is not empty.
    for (const dependency of DEPENDENCIES) this.dependencyUnavailable.inc({ dependency }, 0);
  }

  /**
   * Each series' child, found by one string key: observe() with a labels object hashes its sorted keys on
   * every request. Bounded as the series are: route templates, methods, status codes.
   */
  private readonly httpSeries = new Map<string, { observe(seconds: number): void }>();

  observeHttpRequest(route: string, method: string, statusCode: number, seconds: number): void {
    const key = `${route} ${method} ${statusCode}`;
    let series = this.httpSeries.get(key);
    if (!series) {
      series = this.httpDuration.labels({ route, method, status_code: statusCode });
      this.httpSeries.set(key, series);
    }
    series.observe(seconds);
  }

  /**
   * `principal` names what was refused (the kinds a route accepts, or a socket namespace's) and `reason`
   * why; both come from closed sets in the auth module, never from the request.
   */
  countAuthFailure(principal: string, reason: string): void {
    this.authFailures.inc({ principal, reason });
  }

  /** Series that exist at zero before their first failure, so that rates and alerts see them from start-up. */
  declareAuthFailures(principal: string, reasons: readonly string[]): void {
    for (const reason of reasons) this.authFailures.inc({ principal, reason }, 0);
  }

  countPresenceTransition(state: string): void {
    this.presenceTransitions.inc({ state });
  }

  countDependencyUnavailable(dependency: Dependency): void {
    this.dependencyUnavailable.inc({ dependency });
  }

  countPresenceRecovered(devices: number): void {
    this.presenceRecovered.inc(devices);
  }

  countPresenceWriteFailure(): void {
    this.presenceWriteFailures.inc();
  }

  /** `type` and `status` come from the closed sets of the command catalogue and lifecycle. */
  countCommandFinished(type: string, status: string, seconds: number): void {
    this.commandsFinished.inc({ type, status });
    this.commandDuration.observe({ type }, seconds);
  }

  countCommandRedelivery(type: string): void {
    this.commandRedeliveries.inc({ type });
  }

  /** Where the queue depth is read from at each scrape (NaN while that source is unavailable). */
  measureCommandQueueDepth(source: () => Promise<number>): void {
    this.queueDepthSource = source;
  }

  measureWaitingPolls(source: () => number): void {
    this.waitingPollsSource = source;
  }

  countPresencePayloadsWritten(rows: number): void {
    this.presencePayloadsWritten.inc(rows);
  }

  /** Read at each scrape, not kept up to date per connection. */
  reportConnectedSockets(namespace: SocketNamespace, count: () => number): void {
    this.socketCounts.set(namespace, count);
    this.connectedSockets.set({ namespace }, 0);
  }

  /**
   * Read at each scrape; the reader bounds and caches the read itself, and answers null rather than
   * throwing, so a database that does not answer leaves the series absent instead of failing /metrics.
   */
  reportDevicesByPresence(read: () => Promise<PresenceCounts>): void {
    this.presenceCounts = read;
  }

  /** The series of one backend's calls of one kind, for the executor or client to keep. */
  dataCalls(backend: DataBackendName, operation: DataCallOperation): CallObserver {
    const failures = Object.fromEntries(
      CALL_FAILURES.map((failure) => {
        const child = this.dataCallErrors.labels({ backend, operation, failure });
        child.inc(0);
        return [failure, child];
      }),
    ) as Record<CallFailure, { inc(): void }>;
    return new CallSeries(this.dataCallDuration.labels({ backend, operation }), failures);
  }

  /** The series of the Redis command client's calls of one kind. */
  redisCalls(operation: RedisCallOperation): CallObserver {
    const failures = Object.fromEntries(
      CALL_FAILURES.map((failure) => {
        const child = this.redisCallErrors.labels({ operation, failure });
        child.inc(0);
        return [failure, child];
      }),
    ) as Record<CallFailure, { inc(): void }>;
    return new CallSeries(this.redisCallDuration.labels({ operation }), failures);
  }

  /** Series that exist at zero from start-up, one per final status. */
  declarePlanStatuses(statuses: readonly string[]): void {
    for (const status of statuses) this.plansEnded.inc({ status }, 0);
  }

  countPlanEnded(status: string): void {
    this.plansEnded.inc({ status });
  }

  /** Read at each scrape, not kept up to date per heartbeat. */
  reportQueuedPayloads(count: () => number): void {
    this.queuedPayloads = count;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * How infrastructure providers ask for the metrics: a module built without them (storage contract tests,
 * command-line tools) gets connections whose calls are simply not observed.
 */
export const OPTIONAL_METRICS = { token: MetricsService, optional: true } as const;

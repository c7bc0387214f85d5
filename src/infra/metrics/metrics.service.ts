import { Injectable } from '@nestjs/common';
import { DEPENDENCIES, type Dependency } from '../../common/errors/common.errors';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

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

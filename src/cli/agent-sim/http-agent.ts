import { setTimeout as delay } from 'node:timers/promises';
import { CommandRunner } from './command-runner';
import { type AgentOptions, basic, heartbeatBody, log, register, request } from './gateway-client';
import { HttpChannel } from './http-channel';

/** The long poll's wait (the most the gateway allows), and how much longer a request may take. */
const POLL_WAIT_SEC = 30;
const POLL_SLACK_MS = 15_000;

/**
 * One simulated agent without a socket (`--http`): heartbeats over HTTP, long-polls
 * `GET /v1/agent/commands?waitSec=30`, acks, and reports progress and results through the agent command
 * routes. Without a socket it hears of a cancel only when the gateway answers a report with 404 or 409.
 */
export class HttpAgent {
  /** Whether the last long poll was answered: the simulator's report counts this as connected. */
  connected = false;
  ended: string | undefined;
  private readonly stopping = new AbortController();
  private readonly runner: CommandRunner;
  private readonly log: (message: string) => void;
  private readonly channel: HttpChannel;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AgentOptions) {
    const deviceId = options.credentials.deviceId;
    const write = options.log ?? log;
    this.log = (message: string) => {
      write(`${deviceId}: ${message}`);
    };
    const prefixed = this.log;
    this.channel = new HttpChannel(options.url, options.credentials, this.stopping.signal, prefixed);
    this.runner = new CommandRunner(deviceId, this.channel, options.behaviour, prefixed);
  }

  async start(): Promise<void> {
    const registration = await register(this.options);
    if (this.stopping.signal.aborted) return;
    void this.heartbeat();
    this.timer = setInterval(() => void this.heartbeat(), registration.heartbeatIntervalSec * 1000);
    void this.poll();
  }

  /** A function, as the loop's awaits may stop the agent between two reads. */
  private stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  stop(): void {
    this.stopping.abort();
    clearInterval(this.timer);
    this.runner.stop();
  }

  private async poll(): Promise<void> {
    const { url, credentials } = this.options;
    const authorization = basic(credentials);
    let backoff = 1000;
    while (!this.stopped()) {
      let failure: string;
      try {
        const answer = await request(`${url}/v1/agent/commands?waitSec=${POLL_WAIT_SEC}`, {
          authorization,
          signal: AbortSignal.any([
            this.stopping.signal,
            AbortSignal.timeout(POLL_WAIT_SEC * 1000 + POLL_SLACK_MS),
          ]),
        });
        if (answer.status === 200) {
          this.connected = true;
          backoff = 1000;
          const { items } = answer.body as { items: { id?: unknown }[] };
          for (const item of items) {
            const id = typeof item.id === 'string' ? item.id : undefined;
            await this.runner.receive(item, (reply) =>
              id === undefined ? Promise.resolve(false) : this.channel.acknowledge(id, reply),
            );
          }
          continue;
        }
        if (answer.status === 401 || answer.status === 403) {
          this.ended = 'invalid_credentials';
          this.connected = false;
          this.log(`credentials refused (${answer.status}); stopping`);
          this.stop();
          return;
        }
        failure = `answered ${answer.status}`;
      } catch (error) {
        if (this.stopped()) return;
        failure = error instanceof Error ? error.message : String(error);
      }
      this.connected = false;
      this.log(`long poll failed (${failure}); again in ${backoff} ms`);
      try {
        await delay(backoff, undefined, { signal: this.stopping.signal });
      } catch (error) {
        if (!this.stopped()) throw error;
      }
      backoff = Math.min(backoff * 2, 30_000);
    }
  }

  private async heartbeat(): Promise<void> {
    const { url, credentials } = this.options;
    try {
      const answer = await request(`${url}/v1/agent/heartbeat`, {
        method: 'POST',
        authorization: basic(credentials),
        body: heartbeatBody(),
        signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(10_000)]),
      });
      if (answer.status !== 200) this.log(`heartbeat answered ${answer.status}`);
    } catch (error) {
      if (!this.stopping.signal.aborted) this.log(`heartbeat failed (${String(error)})`);
    }
  }
}

import { setTimeout as delay } from 'node:timers/promises';
import {
  type AckReply,
  type CommandChannel,
  type ProgressReport,
  type ReportOutcome,
  type ResultReport,
} from './command-runner';
import { basic, type Credentials, type GatewayAnswer, request } from './gateway-client';

/** Retries of a result that could not be delivered back off from 1 s up to this. */
const MAX_RETRY_DELAY_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10_000;

/** What an answer to a report means for the command (docs/guide.md#command-delivery). */
export function outcomeOf(status: number): ReportOutcome | 'retry' {
  if (status >= 200 && status <= 299) return 'taken';
  if (status === 404 || status === 409) return 'gone';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'refused';
}

/**
 * The agent command routes (`/v1/agent/commands/:id/ack|progress|result`): what the long-poll agent
 * reports through, and what a socket agent falls back on once the gateway has closed its socket for good.
 */
export class HttpChannel implements CommandChannel {
  private readonly authorization: string;

  constructor(
    private readonly url: string,
    credentials: Credentials,
    private readonly stopping: AbortSignal,
    private readonly log: (message: string) => void,
  ) {
    this.authorization = basic(credentials);
  }

  /**
   * `accepted` is `POST …/ack`. HTTP has no refusal in the ack, so a refusal is sent as what the gateway
   * makes of one on the socket: a failed result with the agent's reason.
   */
  async acknowledge(commandId: string, reply: AckReply): Promise<boolean> {
    if (!reply.accepted) {
      const message = reply.reason ?? 'refused by the agent';
      return (
        (await this.result(commandId, { status: 'failed', error: { code: 'refused', message } })) === 'taken'
      );
    }
    const answer = await this.post(commandId, 'ack', undefined);
    if (answer !== undefined && outcomeOf(answer.status) === 'taken') return true;
    this.log(`command ${commandId}: ack not taken (${describe(answer)}); it is not run`);
    return false;
  }

  /** Progress is worth one try: a lost one is superseded by the next report. */
  async progress(commandId: string, report: ProgressReport): Promise<ReportOutcome> {
    const answer = await this.post(commandId, 'progress', report);
    const outcome = answer === undefined ? 'retry' : outcomeOf(answer.status);
    if (outcome === 'retry' || outcome === 'refused') {
      this.log(`command ${commandId}: progress not taken (${describe(answer)})`);
      return 'taken';
    }
    return outcome;
  }

  /** A result is sent until the gateway answers it, or the agent stops. */
  async result(commandId: string, report: ResultReport): Promise<ReportOutcome> {
    for (let wait = 1000; ; wait = Math.min(wait * 2, MAX_RETRY_DELAY_MS)) {
      const answer = await this.post(commandId, 'result', report);
      const outcome = answer === undefined ? 'retry' : outcomeOf(answer.status);
      if (outcome === 'refused') this.log(`command ${commandId}: result refused (${describe(answer)})`);
      if (outcome !== 'retry') return outcome;
      this.log(`command ${commandId}: result not delivered (${describe(answer)}); again in ${wait} ms`);
      try {
        await delay(wait, undefined, { signal: this.stopping });
      } catch (error) {
        if (!this.stopping.aborted) throw error;
        this.log(`command ${commandId}: stopping with its result undelivered`);
        return 'refused';
      }
    }
  }

  /** The answer, or undefined when none came (network failure, timeout, the agent stopping). */
  private async post(commandId: string, what: string, body: unknown): Promise<GatewayAnswer | undefined> {
    try {
      return await request(`${this.url}/v1/agent/commands/${encodeURIComponent(commandId)}/${what}`, {
        method: 'POST',
        authorization: this.authorization,
        body,
        signal: AbortSignal.any([this.stopping, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
    } catch (error) {
      this.log(
        `command ${commandId}: ${what} failed (${error instanceof Error ? error.message : String(error)})`,
      );
      return undefined;
    }
  }
}

function describe(answer: GatewayAnswer | undefined): string {
  if (answer === undefined) return 'no answer';
  const problem = answer.body as { code?: unknown; detail?: unknown } | undefined;
  const detail = typeof problem?.detail === 'string' ? `: ${problem.detail}` : '';
  return `${answer.status}${typeof problem?.code === 'string' ? ` ${problem.code}` : ''}${detail}`;
}

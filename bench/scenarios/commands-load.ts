/**
 * The load process of bench:commands: an open loop of customer commands, `POST /v1/sessions/:id/commands
 * ?waitSec=N` (a ping) at a fixed rate over keep-alive connections, each sent on its schedule whatever is
 * still outstanding, spread over the sessions in turn. A command's time runs from its scheduled send to
 * its final answer (a 200 with a final status), so a server falling behind is charged for the wait. A 202
 * (not final within waitSec) is read again (`GET /v1/commands/:id`) until final or the grace runs out.
 * Started by the runner with an IPC channel; it answers each message, in order, with its LoadReport.
 */
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LoadOrder {
  url: string;
  token: string;
  sessions: string[];
  /** Sessions of several customers: each session's customer token, by the same index (else `token`). */
  tokens?: string[];
  /** The first session of this window: windows start where the previous one stopped. */
  firstSession: number;
  ratePerSec: number;
  durationSec: number;
  waitSec: number;
}

export interface LoadReport {
  type: 'report';
  sent: number;
  /** Answered 200 with a final status within waitSec; their times from schedule to answer. */
  latenciesMs: number[];
  /** Final by status (succeeded, failed, ...), whenever they were seen final. */
  statuses: Record<string, number>;
  /** Answered 202, then seen final by GET. */
  finalAfterWait: number;
  /** Answered 202 and still not final by GET when the grace ran out. */
  notFinal: number;
  /** No answer in time, or an answer other than 200 or 202: whether the command exists is not known here. */
  unanswered: number;
  /** The first few of either, described. */
  failures: string[];
}

const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'expired', 'cancelled']);
/** How long a command answered 202 is read again for: past the ack timeout (30 s) and a redelivery. */
const GRACE_MS = 40_000;
const BODY = JSON.stringify({ type: 'ping', params: { host: 'example.com', count: 1 } });

/** A command's answer: the HTTP status and the Command (its id and status are all this reads). */
interface Answer {
  status: number;
  json: { id?: string; status?: string };
}
const NO_ANSWER: Answer = { status: 0, json: {} };

const agent = new Agent({ keepAlive: true, maxFreeSockets: 1_024 });

function call(
  url: string,
  method: string,
  path: string,
  token: string,
  timeoutMs: number,
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const sent = request(`${url}${path}`, { method, headers, agent, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: response.statusCode ?? 0, json: JSON.parse(text) as Answer['json'] });
        } catch {
          reject(new Error(`HTTP ${response.statusCode ?? 0}: ${text.slice(0, 200)}`));
        }
      });
      response.on('error', reject);
    });
    sent.on('timeout', () => sent.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    sent.on('error', reject);
    sent.end(body);
  });
}

async function load(order: LoadOrder): Promise<LoadReport> {
  const report: LoadReport = {
    type: 'report',
    sent: 0,
    latenciesMs: [],
    statuses: {},
    finalAfterWait: 0,
    notFinal: 0,
    unanswered: 0,
    failures: [],
  };
  const fail = (kind: 'notFinal' | 'unanswered', failure: string): void => {
    report[kind] += 1;
    if (report.failures.length < 10) report.failures.push(failure);
  };
  const final = (status: string): void => {
    report.statuses[status] = (report.statuses[status] ?? 0) + 1;
  };
  const waited: { id: string; token: string }[] = [];
  const outstanding: Promise<void>[] = [];
  const total = Math.round(order.ratePerSec * order.durationSec);
  const intervalMs = 1000 / order.ratePerSec;
  // Far past waitSec: a server that falls behind answers late, and a late answer is still an answer.
  const timeoutMs = order.waitSec * 1000 + 60_000;
  const issue = (index: number, scheduledAt: number): Promise<void> => {
    const sessionIndex = (order.firstSession + index) % order.sessions.length;
    const session = order.sessions[sessionIndex] ?? '';
    const token = order.tokens?.[sessionIndex] ?? order.token;
    const path = `/v1/sessions/${session}/commands?waitSec=${order.waitSec}`;
    return call(order.url, 'POST', path, token, timeoutMs, BODY).then(
      ({ status, json }) => {
        const state = json.status ?? '';
        if (status === 200 && FINAL.has(state)) {
          report.latenciesMs.push(performance.now() - scheduledAt);
          final(state);
        } else if (status === 202 && typeof json.id === 'string') waited.push({ id: json.id, token });
        else fail('unanswered', `session ${session}: HTTP ${status} ${JSON.stringify(json).slice(0, 300)}`);
      },
      (error: unknown) => {
        fail('unanswered', `session ${session}: ${String(error)}`);
      },
    );
  };
  const startedAt = performance.now();
  // Sends whatever is due, then sleeps about a millisecond: on schedule whatever is still outstanding.
  while (report.sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - startedAt) / intervalMs) + 1);
    for (; report.sent < due; report.sent += 1)
      outstanding.push(issue(report.sent, startedAt + report.sent * intervalMs));
    await sleep(1);
  }
  await Promise.all(outstanding);

  const graceEnds = Date.now() + GRACE_MS;
  let open = waited;
  while (open.length > 0 && Date.now() < graceEnds) {
    const still: typeof waited = [];
    for (const command of open) {
      const path = `/v1/commands/${command.id}`;
      const { status, json } = await call(order.url, 'GET', path, command.token, 10_000).catch(
        () => NO_ANSWER,
      );
      if (status === 200 && FINAL.has(json.status ?? '')) {
        report.finalAfterWait += 1;
        final(json.status ?? '');
      } else still.push(command);
    }
    open = still;
    if (open.length > 0) await sleep(500);
  }
  for (const { id } of open)
    fail('notFinal', `command ${id}: not final ${GRACE_MS / 1000} s after its answer 202`);
  return report;
}

let queue = Promise.resolve();
process.on('message', (order: LoadOrder) => {
  queue = queue.then(async () => {
    const reply = await load(order).catch((error: unknown) => ({ type: 'failed', message: String(error) }));
    process.send?.(reply);
  });
});
// The runner is gone (finished, failed or killed): nothing here may outlive it.
process.on('disconnect', () => process.exit(0));

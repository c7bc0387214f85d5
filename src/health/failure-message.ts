/** The errors of a failure, outermost first: ours wrap the client's, which may wrap the socket's. */
function chainOf(error: unknown): object[] {
  const chain: object[] = [];
  let current: unknown = error;
  while (typeof current === 'object' && current !== null && chain.length < 8) {
    chain.push(current);
    current = 'cause' in current ? current.cause : undefined;
  }
  return chain;
}

function stringField(error: object, field: 'code' | 'message'): string {
  const value = (error as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : '';
}

/** Node network errors, PostgREST's own codes and SQLSTATEs (whole, or by class) that say what is wrong. */
const BY_CODE: [RegExp, string][] = [
  [/^ECONNREFUSED$/, 'not reachable (connection refused)'],
  [/^(ENOTFOUND|EAI_AGAIN)$/, 'not reachable (host not found)'],
  [/^(EHOSTUNREACH|ENETUNREACH)$/, 'not reachable (no route to the host)'],
  [/^ETIMEDOUT$/, 'not reachable (connection timed out)'],
  [/^(ECONNRESET|EPIPE|UND_ERR_SOCKET)$/, 'connection lost'],
  [/^(ABORT_ERR|57014)$/, 'timed out'],
  [/^PGRST00[012]$/, 'not reachable (the data API cannot reach PostgreSQL)'],
  [/^PGRST003$/, 'timed out (the data API waited too long for a PostgreSQL connection)'],
  [/^57P0[123]$/, 'shutting down or starting up'],
  [/^53300$/, 'too many connections'],
  [/^53/, 'out of resources'],
  [/^08/, 'connection failed'],
  [/^28/, 'refused the credentials'],
  [/^3D000$/, 'database does not exist'],
];

/** Clients that give no code say it in words (pg, pg-pool, ioredis). */
const BY_MESSAGE: [RegExp, string][] = [
  [/timeout exceeded when trying to connect/i, 'timed out waiting for a connection'],
  [/query read timeout|command timed out/i, 'timed out'],
  [/connection terminated|connection is closed/i, 'connection lost'],
  [/stream isn't writeable/i, 'not connected (reconnecting)'],
];

/**
 * What a failed readiness check reports, for a person reading it: "not reachable (connection
 * refused)", "no answer within 500 ms". The most telling cause anywhere in the chain decides; an error
 * nothing here recognises is reported by the message of its innermost cause.
 */
export function describeFailure(error: unknown): string {
  const chain = chainOf(error);
  for (const link of chain) {
    const timeoutMs = (link as { timeoutMs?: unknown }).timeoutMs;
    if (typeof timeoutMs === 'number') return `no answer within ${timeoutMs} ms`;
  }
  for (const link of chain) {
    const code = stringField(link, 'code');
    const known = BY_CODE.find(([pattern]) => pattern.test(code));
    if (known) return known[1];
  }
  for (const link of [...chain].reverse()) {
    const message = stringField(link, 'message');
    const known = BY_MESSAGE.find(([pattern]) => pattern.test(message));
    if (known) return known[1];
  }
  const innermost = chain.at(-1);
  const message = (innermost ? stringField(innermost, 'message') : String(error)).split('\n')[0] ?? '';
  const reason = message.trim().replace(/[.;:\s]+$/, '');
  return reason === '' ? 'failed' : `failed (${reason})`;
}

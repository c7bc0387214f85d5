import { configVariables } from './app-config';

export interface UnknownVariable {
  name: string;
  /** The known variable it is most likely a misspelling of. */
  nearest: string;
}

/**
 * What Kubernetes sets for every Service in the namespace (`REDIS_SERVICE_HOST`, `REDIS_PORT_6379_TCP`, …):
 * variables under the gateway's prefixes that nobody misspelt.
 */
const SERVICE_LINK = /_(SERVICE_HOST|SERVICE_PORT(_.+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$/;

/** Edit distance (insertions, deletions, substitutions), enough to rank a few dozen names. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * Variables in `env` under one of the gateway's own prefixes (the first word of a variable it reads:
 * `SOCKET_`, `COMMAND_`, `PRESENCE_`, …) that it does not read, each with the known name nearest to it.
 * A misspelt name would otherwise be ignored without a word, and its default used.
 */
export function unknownVariables(env: Record<string, string | undefined>): UnknownVariable[] {
  const known = configVariables();
  const knownSet = new Set(known);
  const prefixes = new Set(
    known.filter((name) => name.includes('_')).map((name) => `${name.split('_')[0]}_`),
  );
  return Object.keys(env)
    .filter((name) => !knownSet.has(name) && !SERVICE_LINK.test(name))
    .filter((name) => [...prefixes].some((prefix) => name.startsWith(prefix)))
    .sort()
    .map((name) => ({
      name,
      nearest: known.reduce((best, candidate) =>
        distance(name, candidate) < distance(name, best) ? candidate : best,
      ),
    }));
}

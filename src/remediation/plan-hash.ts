import { createHash } from 'node:crypto';

/** What the hash covers of each step, and nothing else: the content the customer approves. */
export interface HashedStep {
  type: string;
  params: Record<string, unknown>;
  description: string;
}

/**
 * JSON with every object's keys sorted (by UTF-16 code unit, JavaScript's default sort) at every depth,
 * arrays in their order, and no whitespace; strings and numbers as JSON.stringify writes them. The form
 * the README documents, so that a portal recomputes the same hash.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new TypeError(`${typeof value} has no JSON form`);
  return text;
}

/** `planHash` (README.md#the-plan-hash): SHA-256, hex, of the canonical JSON of the steps' type, params and description. */
export function planHash(steps: readonly HashedStep[]): string {
  const content = steps.map(({ type, params, description }) => ({ type, params, description }));
  return createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex');
}

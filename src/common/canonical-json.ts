/**
 * JSON with every object's keys sorted (by UTF-16 code unit, JavaScript's default sort) at every depth,
 * arrays in their order, and no whitespace; strings and numbers as JSON.stringify writes them: one text
 * for one value, whatever its keys' order. A plan's hash is documented on this form (README.md#the-plan-hash),
 * so that a portal recomputes it; a command's request hash tells a retry by it.
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

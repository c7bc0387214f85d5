/**
 * An integer command-line option within [min, max], or `fallback` when it was not given. Out-of-range
 * values fail rather than being clamped: a benchmark run with other settings than asked for misleads.
 */
export function boundedInteger(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`--${name} must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** Give up after this long, failing with the last observation. */
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `probe` until `accept` holds for what it returned, then returns that value. Fails at the
 * deadline with the last value (or error) seen, so a broken feature fails instead of hanging, and a
 * working one is not slowed by a fixed sleep.
 */
export async function eventually<T>(
  description: string,
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  { timeoutMs = 10_000, intervalMs = 50 }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string = 'nothing observed yet';
  for (;;) {
    try {
      const value = await probe();
      if (accept(value)) return value;
      last = JSON.stringify(value);
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting until ${description}; last: ${last}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Polls `probe` for `durationMs` and fails at the first value `accept` refuses: proves that something
 * stays true (a device stays online) rather than becoming true.
 */
export async function holdsFor<T>(
  description: string,
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  durationMs: number,
  intervalMs = 100,
): Promise<void> {
  const until = Date.now() + durationMs;
  while (Date.now() < until) {
    const value = await probe();
    if (!accept(value)) throw new Error(`Expected ${description}, but saw ${JSON.stringify(value)}`);
    await sleep(intervalMs);
  }
}

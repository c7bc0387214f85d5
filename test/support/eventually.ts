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

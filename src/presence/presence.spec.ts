import { nextDeadline, stateAt, timingFor } from './presence';

describe('presence timing (PRODUCT §5)', () => {
  const timing = timingFor(10);

  it('derives stale at 1.5 and offline at 3 heartbeat intervals', () => {
    expect(timing).toEqual({ staleAfterMs: 15_000, offlineAfterMs: 30_000 });
  });

  it.each([
    [0, 'online'],
    [14_999, 'online'],
    [15_000, 'stale'],
    [29_999, 'stale'],
    [30_000, 'offline'],
    [10 ** 9, 'offline'],
  ])('judges a device silent for %i ms %s', (silentFor, state) => {
    expect(stateAt(1_000_000, 1_000_000 + silentFor, timing)).toBe(state);
  });

  it('schedules the next transition from the last sign, and none once offline', () => {
    expect(nextDeadline('online', 1000, timing)).toBe(16_000);
    expect(nextDeadline('stale', 1000, timing)).toBe(31_000);
    expect(nextDeadline('offline', 1000, timing)).toBeNull();
    expect(nextDeadline('unknown', 1000, timing)).toBeNull();
  });
});

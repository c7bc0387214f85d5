import { PRESENCE_STATES } from '../device';
import { connectionEpochFloor, isLivePresence, nextDeadline, stateAt, timingFor } from './presence';

describe('presence timing (docs/guide.md#devices-and-presence)', () => {
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

  it('derives connection epoch floors that grow with the clock, leaving room for a counter in between', () => {
    const now = Date.parse('2026-12-01T12:00:00.000Z');
    expect(connectionEpochFloor(now + 1) - connectionEpochFloor(now)).toBeGreaterThan(1);
    expect(connectionEpochFloor(now + 1)).toBeGreaterThan(connectionEpochFloor(now));
    expect(Number.isSafeInteger(connectionEpochFloor(Date.parse('2200-01-01T00:00:00.000Z')))).toBe(true);
    // Synthetic times before the origin (tests, a clock set to 1970) leave the counter alone.
    expect(connectionEpochFloor(1000)).toBe(0);
  });

  it('calls online and stale the states that carry a deadline', () => {
    expect(PRESENCE_STATES.filter(isLivePresence)).toEqual(['online', 'stale']);
  });
});

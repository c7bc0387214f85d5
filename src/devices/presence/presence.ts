import { type RebuildState } from '../../infra/redis/redis-rebuild-lease';
import { type PresenceState } from '../device';

/** The hot presence of one device, as kept in the cache. Times are epoch milliseconds. */
export interface HotPresence {
  state: PresenceState;
  lastSeenAt: number;
  /** Epoch of the newest /agent connection; 0 before any. */
  epoch: number;
  /** Raw JSON of the last heartbeat body, or null before the first one. */
  heartbeat: string | null;
  heartbeatAt: number | null;
}

export interface PresenceTiming {
  /** No sign for this long: stale (1.5 × heartbeat interval). */
  staleAfterMs: number;
  /** No sign for this long: offline (3 × heartbeat interval). */
  offlineAfterMs: number;
}

export function timingFor(heartbeatIntervalSec: number): PresenceTiming {
  return { staleAfterMs: heartbeatIntervalSec * 1500, offlineAfterMs: heartbeatIntervalSec * 3000 };
}

/** The state a device is in at `now`, judged only by its last sign (docs/guide.md#devices-and-presence). */
export function stateAt(lastSeenAt: number, now: number, timing: PresenceTiming): PresenceState {
  const silentFor = now - lastSeenAt;
  if (silentFor < timing.staleAfterMs) return 'online';
  if (silentFor < timing.offlineAfterMs) return 'stale';
  return 'offline';
}

/** When the device next changes state if no sign arrives; null once offline. */
export function nextDeadline(
  state: PresenceState,
  lastSeenAt: number,
  timing: PresenceTiming,
): number | null {
  switch (state) {
    case 'online':
      return lastSeenAt + timing.staleAfterMs;
    case 'stale':
      return lastSeenAt + timing.offlineAfterMs;
    case 'offline':
    case 'unknown':
      return null;
  }
}

/** Connection epochs count from this moment; any clock set to a present date lies after it. */
const EPOCH_CLOCK_ORIGIN_MS = Date.UTC(2020, 0, 1);
/**
 * Epoch steps per millisecond of the clock: a device's counter runs ahead of the clock only if it
 * connects more often than this within one millisecond. Epochs stay integers well within what a double
 * (JavaScript, Lua) holds exactly for centuries.
 */
const EPOCHS_PER_MS = 1000;

/**
 * The lowest epoch a connection made at `at` (the connecting instance's clock) may take. A store gives a
 * new connection the larger of this and its stored epoch + 1, so epochs grow with every connection while
 * the store remembers the device, and keep growing with the clock when it does not (a restart, a flush,
 * an evicted or expired key): the first connection after such a loss still outranks every earlier one,
 * so the takeover and late-disconnect rules hold across it.
 *
 * The bound: an earlier epoch came from another instance's clock, so the guarantee holds as long as that
 * clock was ahead of the new connection's instance by less than the time that passed between the two
 * connections (which spans the cache loss and the reconnection after it). While the store remembers the
 * device no clock matters: the stored epoch + 1 wins whenever it is larger, even from a clock behind.
 */
export function connectionEpochFloor(at: number): number {
  return Math.max(0, Math.floor(at) - EPOCH_CLOCK_ORIGIN_MS) * EPOCHS_PER_MS;
}

/** Presence states a device keeps only while it is heard from: each has a deadline. */
export const LIVE_PRESENCE_STATES = ['online', 'stale'] as const satisfies readonly PresenceState[];
export type LivePresenceState = (typeof LIVE_PRESENCE_STATES)[number];

export function isLivePresence(state: PresenceState): state is LivePresenceState {
  return (LIVE_PRESENCE_STATES as readonly PresenceState[]).includes(state);
}

/** Hot state rebuilt from the database for a device the store no longer knows. */
export interface PresenceSeed {
  deviceId: string;
  state: LivePresenceState;
  lastSeenAt: number;
  deadline: number;
}

/** Whether the store still holds the presence it was given (PresenceStore.checkRecovery). */
export type StoreRecovery = RebuildState;

export interface SignInput {
  deviceId: string;
  at: number;
  /** Raw JSON heartbeat body; omitted for signs that carry none (registration). */
  heartbeat?: string;
  /** The sign's connection epoch; a sign from an older epoch than the stored one is ignored. */
  epoch?: number;
  /** When the heartbeat payload is due for a database write again (throttle), in ms. */
  persistIntervalMs: number;
}

export interface ConnectOutcome {
  epoch: number;
  previousState: PresenceState;
}

export interface DisconnectOutcome {
  applied: boolean;
  previousState: PresenceState;
  lastSeenAt: number | null;
}

export interface SignOutcome {
  /** False when the sign came from an older connection epoch and changed nothing. */
  applied: boolean;
  previousState: PresenceState;
  /** True for exactly one sign per persistence interval: that one writes the payload to the database. */
  persistDue: boolean;
  /** The device's queued commands, as the delivery engine last counted them (0 when it never did). */
  pendingCommands: number;
}

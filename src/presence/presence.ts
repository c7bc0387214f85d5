import { type PresenceState } from '../devices/device';

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

/** The state a device is in at `now`, judged only by its last sign (PRODUCT §5). */
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
}

import { type PresenceState } from '../devices/device';
import {
  type ConnectOutcome,
  type DisconnectOutcome,
  type HotPresence,
  type SignInput,
  type SignOutcome,
} from './presence';

/**
 * Storage port for hot presence. Every operation is atomic in the store, so that any number of instances
 * can record signs and sweep deadlines concurrently and each transition is made exactly once.
 * Adapters: Redis (Lua scripts) and memory (one instance).
 */
export abstract class PresenceStore {
  /** Records a sign: online, lastSeenAt = at, next deadline at + staleAfterMs. */
  abstract applySign(sign: SignInput, staleAfterMs: number): Promise<SignOutcome>;

  /**
   * A new /agent connection: takes the next epoch, counts as a sign, and returns both. Older connections
   * of the device are superseded from here on.
   */
  abstract connect(deviceId: string, at: number, staleAfterMs: number): Promise<ConnectOutcome>;

  /**
   * The connection of `epoch` closed: offline now, unless a newer connection took over (then nothing
   * changes). `applied` is true only when this call changed the state.
   */
  abstract disconnect(deviceId: string, epoch: number): Promise<DisconnectOutcome>;

  abstract get(deviceIds: readonly string[]): Promise<(HotPresence | null)[]>;

  /** Devices whose deadline is at or before `now`, earliest first. */
  abstract due(now: number, limit: number): Promise<string[]>;

  /**
   * Moves a device from `from` to `to` only if its state and lastSeenAt are still what the caller saw,
   * then sets its next deadline (or clears it). True for the one caller that made the transition.
   */
  abstract transition(
    deviceId: string,
    from: { state: PresenceState; lastSeenAt: number },
    to: PresenceState,
    deadline: number | null,
  ): Promise<boolean>;

  abstract forget(deviceId: string): Promise<void>;
}

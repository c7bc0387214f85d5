import { type PresenceState } from '../device';
import {
  type ConnectOutcome,
  type DisconnectOutcome,
  type HotPresence,
  type PresenceSeed,
  type SignInput,
  type SignOutcome,
  type StoreRecovery,
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
   * A new /agent connection: takes the next epoch, counts as a sign, and returns both. The epoch is the
   * larger of the stored one + 1 and connectionEpochFloor(at), so it outranks every older connection of
   * the device even when the store has lost what it knew of it. Older connections of the device are
   * superseded from here on.
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

  /** Forgets the device's hot state and its count of queued commands. */
  abstract forget(deviceId: string): Promise<void>;

  /**
   * Records how many commands wait in the device's queue, so that its heartbeats can tell it without a
   * database read (applySign returns it). Kept apart from the presence state: it survives a disconnect.
   */
  abstract setPendingCommands(deviceId: string, count: number): Promise<void>;

  /**
   * Rebuilds the hot state of devices the store does not know (from what the database recorded), with
   * their deadlines; a device the store knows is left alone, so a sign that arrived first wins. Returns
   * the ids it seeded.
   */
  abstract seed(seeds: readonly PresenceSeed[]): Promise<string[]>;

  /**
   * Tells whether the store still holds the presence it was given. When it does not (it started empty,
   * restarted, was flushed), the first caller claims the rebuilding for `leaseMs`; others are told it is
   * busy until the claimant completes or its lease lapses. A claimant asking again extends its lease.
   */
  abstract checkRecovery(owner: string, leaseMs: number): Promise<StoreRecovery>;

  /** Extends the claimant's lease; false when it is no longer the claimant (the lease lapsed or was lost). */
  abstract extendRecovery(owner: string, leaseMs: number): Promise<boolean>;

  /**
   * Marks the store whole again under a new `generation`; false (and nothing changes) when `owner` no
   * longer holds the lease, as after a second loss during the rebuilding.
   */
  abstract completeRecovery(owner: string, generation: string): Promise<boolean>;
}

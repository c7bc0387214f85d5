import { type RebuildState } from '../../../infra/redis/redis-rebuild-lease';
/** One command's clock: when to look at it, from which revision, and whether it waits in its queue. */
export interface CommandClock {
  commandId: string;
  at: number;
  revision: number;
  queued: boolean;
}

/** Whether the store still holds the clocks it was given (see CommandClockStore.checkRecovery). */
export type ClockRecovery = RebuildState;

/**
 * Shared state of the command clocks: one deadline per non-final command, "look at this command at T",
 * in a store every instance sweeps, never in one process's timers. Each deadline carries the command
 * revision it was computed from, so that a late writer (a sweep that read an older revision) never
 * replaces the deadline of a newer status. Adapters: Redis (Lua, a sorted set) and memory (one instance).
 */
export abstract class CommandClockStore {
  /** Sets a command's deadline unless the store holds one from a newer revision. */
  abstract arm(clocks: readonly CommandClock[]): Promise<void>;

  /** Commands waiting in a queue, across devices (the queue depth). */
  abstract countQueued(): Promise<number>;

  /** Removes a command's deadline unless the store holds one from a newer revision. */
  abstract clear(commandId: string, revision: number): Promise<void>;

  /**
   * Claims up to `limit` deadlines due at `now`: each one's time moves to `now + leaseMs` (it is not
   * removed), so that a claimant that dies leaves it to be claimed again once the lease lapses.
   */
  abstract claimDue(now: number, leaseMs: number, limit: number): Promise<string[]>;

  /**
   * Tells whether the store still holds the clocks it was given. When it does not (it started empty,
   * restarted, was flushed), the first caller claims the rebuilding for `leaseMs`; others are told it is
   * busy until the claimant completes or its lease lapses. A claimant asking again extends its lease.
   */
  abstract checkRecovery(owner: string, leaseMs: number): Promise<ClockRecovery>;

  /** Marks the store whole again; false when `owner` no longer holds the lease. */
  abstract completeRecovery(owner: string, generation: string): Promise<boolean>;
}

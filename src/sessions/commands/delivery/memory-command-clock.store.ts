import { Injectable } from '@nestjs/common';
import { type ClockRecovery, type CommandClock, CommandClockStore } from './command-clock.store';

/** The command clocks in this process (CACHE_BACKEND=memory, one instance). */
@Injectable()
export class MemoryCommandClockStore extends CommandClockStore {
  private readonly clocks = new Map<string, { at: number; revision: number; queued: boolean }>();
  private generation: string | undefined;
  private lease: { owner: string; until: number } | undefined;

  arm(clocks: readonly CommandClock[]): Promise<void> {
    for (const { commandId, at, revision, queued } of clocks) {
      const current = this.clocks.get(commandId);
      if (!current || current.revision <= revision) this.clocks.set(commandId, { at, revision, queued });
    }
    return Promise.resolve();
  }

  countQueued(): Promise<number> {
    let queued = 0;
    for (const clock of this.clocks.values()) if (clock.queued) queued += 1;
    return Promise.resolve(queued);
  }

  clear(commandId: string, revision: number): Promise<void> {
    const current = this.clocks.get(commandId);
    if (current && current.revision <= revision) this.clocks.delete(commandId);
    return Promise.resolve();
  }

  claimDue(now: number, leaseMs: number, limit: number): Promise<string[]> {
    const due = [...this.clocks.entries()]
      .filter(([, clock]) => clock.at <= now)
      .sort(([, a], [, b]) => a.at - b.at)
      .slice(0, limit);
    for (const [, clock] of due) clock.at = now + leaseMs;
    return Promise.resolve(due.map(([id]) => id));
  }

  checkRecovery(owner: string, leaseMs: number): Promise<ClockRecovery> {
    if (this.generation !== undefined)
      return Promise.resolve({ state: 'intact', generation: this.generation });
    const now = Date.now();
    if (!this.lease || this.lease.until <= now || this.lease.owner === owner) {
      this.lease = { owner, until: now + leaseMs };
      return Promise.resolve({ state: 'claimed' });
    }
    return Promise.resolve({ state: 'busy' });
  }

  completeRecovery(owner: string, generation: string): Promise<boolean> {
    if (this.lease?.owner !== owner) return Promise.resolve(false);
    this.generation = generation;
    this.lease = undefined;
    return Promise.resolve(true);
  }
}

import { Injectable } from '@nestjs/common';
import { type PresenceState } from '../device';
import {
  connectionEpochFloor,
  type ConnectOutcome,
  type DisconnectOutcome,
  type HotPresence,
  type PresenceSeed,
  type SignInput,
  type SignOutcome,
  type StoreRecovery,
} from './presence';
import { PresenceStore } from './presence.store';

interface Stored extends HotPresence {
  /** When a heartbeat payload was last due for the database; null before the first. */
  persistedAt: number | null;
}

/**
 * CACHE_BACKEND=memory: hot presence inside this one process; every method is synchronous inside. It
 * starts empty with every process, so it starts as a store to be recovered from the database.
 */
@Injectable()
export class MemoryPresenceStore extends PresenceStore {
  private readonly states = new Map<string, Stored>();
  private readonly deadlines = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  private generation: string | undefined;
  private lease: { owner: string; until: number } | undefined;

  applySign(sign: SignInput, staleAfterMs: number): Promise<SignOutcome> {
    const current = this.states.get(sign.deviceId);
    const previousState: PresenceState = current?.state ?? 'unknown';
    if (sign.epoch !== undefined && current && sign.epoch < current.epoch) {
      return Promise.resolve({ applied: false, previousState, persistDue: false, pendingCommands: 0 });
    }
    const at = Math.max(sign.at, current?.lastSeenAt ?? 0);
    const next: Stored = {
      state: 'online',
      lastSeenAt: at,
      epoch: sign.epoch ?? current?.epoch ?? 0,
      heartbeat: sign.heartbeat ?? current?.heartbeat ?? null,
      heartbeatAt: sign.heartbeat === undefined ? (current?.heartbeatAt ?? null) : at,
      persistedAt: current?.persistedAt ?? null,
    };
    const persistDue =
      sign.heartbeat !== undefined &&
      (next.persistedAt === null || at - next.persistedAt >= sign.persistIntervalMs);
    if (persistDue) next.persistedAt = at;
    this.states.set(sign.deviceId, next);
    this.deadlines.set(sign.deviceId, at + staleAfterMs);
    return Promise.resolve({
      applied: true,
      previousState,
      persistDue,
      pendingCommands: this.pending.get(sign.deviceId) ?? 0,
    });
  }

  async connect(deviceId: string, at: number, staleAfterMs: number): Promise<ConnectOutcome> {
    const stored = this.states.get(deviceId)?.epoch ?? 0;
    const floor = connectionEpochFloor(at);
    const epoch = stored >= floor ? stored + 1 : floor;
    const { previousState } = await this.applySign(
      { deviceId, at, epoch, persistIntervalMs: Infinity },
      staleAfterMs,
    );
    return { epoch, previousState };
  }

  disconnect(deviceId: string, epoch: number): Promise<DisconnectOutcome> {
    const current = this.states.get(deviceId);
    if (!current) return Promise.resolve({ applied: false, previousState: 'unknown', lastSeenAt: null });
    const previousState = current.state;
    if (current.epoch !== epoch || previousState === 'offline') {
      return Promise.resolve({ applied: false, previousState, lastSeenAt: current.lastSeenAt });
    }
    current.state = 'offline';
    this.deadlines.delete(deviceId);
    return Promise.resolve({ applied: true, previousState, lastSeenAt: current.lastSeenAt });
  }

  get(deviceIds: readonly string[]): Promise<(HotPresence | null)[]> {
    return Promise.resolve(
      deviceIds.map((id) => {
        const stored = this.states.get(id);
        if (!stored) return null;
        const { persistedAt: _persistedAt, ...hot } = stored;
        return hot;
      }),
    );
  }

  due(now: number, limit: number): Promise<string[]> {
    const due = [...this.deadlines.entries()]
      .filter(([, deadline]) => deadline <= now)
      .sort(([, a], [, b]) => a - b)
      .slice(0, limit)
      .map(([id]) => id);
    return Promise.resolve(due);
  }

  transition(
    deviceId: string,
    from: { state: PresenceState; lastSeenAt: number },
    to: PresenceState,
    deadline: number | null,
  ): Promise<boolean> {
    const current = this.states.get(deviceId);
    if (!current) {
      this.deadlines.delete(deviceId);
      return Promise.resolve(false);
    }
    if (current.state !== from.state || current.lastSeenAt !== from.lastSeenAt) return Promise.resolve(false);
    current.state = to;
    if (deadline === null) this.deadlines.delete(deviceId);
    else this.deadlines.set(deviceId, deadline);
    return Promise.resolve(true);
  }

  forget(deviceId: string): Promise<void> {
    this.states.delete(deviceId);
    this.deadlines.delete(deviceId);
    this.pending.delete(deviceId);
    return Promise.resolve();
  }

  setPendingCommands(deviceId: string, count: number): Promise<void> {
    if (count > 0) this.pending.set(deviceId, count);
    else this.pending.delete(deviceId);
    return Promise.resolve();
  }

  seed(seeds: readonly PresenceSeed[]): Promise<string[]> {
    const seeded: string[] = [];
    for (const { deviceId, state, lastSeenAt, deadline } of seeds) {
      if (this.states.has(deviceId)) continue;
      this.states.set(deviceId, {
        state,
        lastSeenAt,
        epoch: 0,
        heartbeat: null,
        heartbeatAt: null,
        persistedAt: null,
      });
      this.deadlines.set(deviceId, deadline);
      seeded.push(deviceId);
    }
    return Promise.resolve(seeded);
  }

  checkRecovery(owner: string, leaseMs: number): Promise<StoreRecovery> {
    if (this.generation !== undefined) {
      return Promise.resolve({ state: 'intact', generation: this.generation });
    }
    const now = Date.now();
    if (this.lease && this.lease.owner !== owner && this.lease.until > now) {
      return Promise.resolve({ state: 'busy' });
    }
    this.lease = { owner, until: now + leaseMs };
    return Promise.resolve({ state: 'claimed' });
  }

  extendRecovery(owner: string, leaseMs: number): Promise<boolean> {
    if (!this.holdsLease(owner)) return Promise.resolve(false);
    this.lease = { owner, until: Date.now() + leaseMs };
    return Promise.resolve(true);
  }

  completeRecovery(owner: string, generation: string): Promise<boolean> {
    if (!this.holdsLease(owner)) return Promise.resolve(false);
    this.generation = generation;
    this.lease = undefined;
    return Promise.resolve(true);
  }

  private holdsLease(owner: string): boolean {
    return this.lease !== undefined && this.lease.owner === owner && this.lease.until > Date.now();
  }
}

import { randomUUID } from 'node:crypto';
import { type SignInput } from '../../../src/devices/presence/presence';
import { type PresenceStore } from '../../../src/devices/presence/presence.store';
import { eventually } from '../../support/eventually';

export interface PresenceStoreFixture {
  /** Two handles on the same shared state, as two gateway instances have. */
  store: PresenceStore;
  peer: PresenceStore;
  close(): Promise<void>;
}

const STALE_AFTER_MS = 1500;
const HOUR = 3_600_000;

function sign(deviceId: string, at: number, extra: Partial<SignInput> = {}): SignInput {
  return { deviceId, at, persistIntervalMs: HOUR, ...extra };
}

/** One contract for every PresenceStore adapter (Redis and memory). */
export function describePresenceStoreContract(name: string, open: () => Promise<PresenceStoreFixture>): void {
  describe(`PresenceStore contract: ${name}`, () => {
    let fixture: PresenceStoreFixture;

    beforeAll(async () => {
      fixture = await open();
    });

    afterAll(async () => {
      await fixture?.close();
    });

    it("answers a sign with the device's queued commands as last counted, which a disconnect keeps and forget drops", async () => {
      const id = randomUUID();
      await fixture.store.setPendingCommands(id, 3);
      expect((await fixture.peer.applySign(sign(id, 1000), STALE_AFTER_MS)).pendingCommands).toBe(3);
      const { epoch } = await fixture.store.connect(id, 2000, STALE_AFTER_MS);
      await fixture.store.disconnect(id, epoch);
      expect((await fixture.peer.applySign(sign(id, 3000), STALE_AFTER_MS)).pendingCommands).toBe(3);
      await fixture.peer.setPendingCommands(id, 0);
      expect((await fixture.store.applySign(sign(id, 4000), STALE_AFTER_MS)).pendingCommands).toBe(0);
      await fixture.store.setPendingCommands(id, 2);
      await fixture.store.forget(id);
      expect((await fixture.store.applySign(sign(id, 5000), STALE_AFTER_MS)).pendingCommands).toBe(0);
    });

    it('records a first sign as a transition from unknown, then keeps the device online', async () => {
      const id = randomUUID();
      const first = await fixture.store.applySign(
        sign(id, 1000, { heartbeat: '{"uptimeSec":1}' }),
        STALE_AFTER_MS,
      );
      expect(first).toEqual({
        applied: true,
        previousState: 'unknown',
        persistDue: true,
        pendingCommands: 0,
      });
      const second = await fixture.peer.applySign(
        sign(id, 2000, { heartbeat: '{"uptimeSec":2}' }),
        STALE_AFTER_MS,
      );
      expect(second).toEqual({
        applied: true,
        previousState: 'online',
        persistDue: false,
        pendingCommands: 0,
      });
      const [hot] = await fixture.store.get([id]);
      expect(hot).toEqual({
        state: 'online',
        lastSeenAt: 2000,
        epoch: 0,
        heartbeat: '{"uptimeSec":2}',
        heartbeatAt: 2000,
      });
    });

    it('makes a heartbeat payload due for the database once per persistence interval', async () => {
      const id = randomUUID();
      const at = (t: number) => sign(id, t, { heartbeat: '{}', persistIntervalMs: 1000 });
      const outcomes = [];
      for (const t of [0, 400, 999, 1000, 1500, 2100]) {
        outcomes.push((await fixture.store.applySign(at(t + 10_000), STALE_AFTER_MS)).persistDue);
      }
      expect(outcomes).toEqual([true, false, false, true, false, true]);
      // A sign without payload (registration) never writes one.
      expect((await fixture.store.applySign(sign(id, 50_000), STALE_AFTER_MS)).persistDue).toBe(false);
    });

    it('ignores a sign from an older connection epoch', async () => {
      const id = randomUUID();
      await fixture.store.applySign(sign(id, 1000, { epoch: 5 }), STALE_AFTER_MS);
      const late = await fixture.peer.applySign(
        sign(id, 9000, { epoch: 4, heartbeat: '{"old":true}' }),
        STALE_AFTER_MS,
      );
      expect(late.applied).toBe(false);
      const [hot] = await fixture.store.get([id]);
      expect(hot).toMatchObject({ lastSeenAt: 1000, epoch: 5, heartbeat: null });
      // A sign without an epoch (HTTP) keeps the stored epoch.
      await fixture.store.applySign(sign(id, 2000), STALE_AFTER_MS);
      expect((await fixture.store.get([id]))[0]).toMatchObject({ lastSeenAt: 2000, epoch: 5 });
    });

    it('never moves lastSeenAt backwards when clocks of instances disagree', async () => {
      const id = randomUUID();
      await fixture.store.applySign(sign(id, 5000), STALE_AFTER_MS);
      await fixture.peer.applySign(sign(id, 4000), STALE_AFTER_MS);
      expect((await fixture.store.get([id]))[0]?.lastSeenAt).toBe(5000);
    });

    it('lists devices whose deadline passed, earliest first, up to the limit', async () => {
      const base = 10 ** 12 + Math.floor(Math.random() * 10 ** 9);
      const early = randomUUID();
      const late = randomUUID();
      const future = randomUUID();
      await fixture.store.applySign(sign(late, base + 100), STALE_AFTER_MS);
      await fixture.store.applySign(sign(early, base), STALE_AFTER_MS);
      await fixture.store.applySign(sign(future, base + 10_000), STALE_AFTER_MS);
      const due = await fixture.peer.due(base + 100 + STALE_AFTER_MS, 10_000);
      expect(due.indexOf(early)).toBeGreaterThanOrEqual(0);
      expect(due.indexOf(early)).toBeLessThan(due.indexOf(late));
      expect(due).not.toContain(future);
      expect(await fixture.peer.due(base + STALE_AFTER_MS, 1)).toHaveLength(1);
    });

    it('lets exactly one of two concurrent sweepers make a transition', async () => {
      const id = randomUUID();
      await fixture.store.applySign(sign(id, 1000), STALE_AFTER_MS);
      const seen = { state: 'online' as const, lastSeenAt: 1000 };
      const results = await Promise.all([
        fixture.store.transition(id, seen, 'stale', 4000),
        fixture.peer.transition(id, seen, 'stale', 4000),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await fixture.store.get([id]))[0]?.state).toBe('stale');
    });

    it('refuses a transition when a sign arrived after the sweeper looked', async () => {
      const id = randomUUID();
      await fixture.store.applySign(sign(id, 1000), STALE_AFTER_MS);
      const seenBySweeper = { state: 'online' as const, lastSeenAt: 1000 };
      await fixture.peer.applySign(sign(id, 1200), STALE_AFTER_MS);
      expect(await fixture.store.transition(id, seenBySweeper, 'stale', 4000)).toBe(false);
      expect((await fixture.store.get([id]))[0]).toMatchObject({ state: 'online', lastSeenAt: 1200 });
    });

    it('reschedules on a transition and stops scheduling once offline', async () => {
      const id = randomUUID();
      const base = 2 * 10 ** 12 + Math.floor(Math.random() * 10 ** 9);
      await fixture.store.applySign(sign(id, base), STALE_AFTER_MS);
      await fixture.store.transition(id, { state: 'online', lastSeenAt: base }, 'stale', base + 3000);
      expect(await fixture.store.due(base + 2999, 10_000)).not.toContain(id);
      expect(await fixture.store.due(base + 3000, 10_000)).toContain(id);
      await fixture.store.transition(id, { state: 'stale', lastSeenAt: base }, 'offline', null);
      expect(await fixture.store.due(Number.MAX_SAFE_INTEGER, 100_000)).not.toContain(id);
      const back = await fixture.peer.applySign(sign(id, base + 5000), STALE_AFTER_MS);
      expect(back.previousState).toBe('offline');
    });

    it('gives each connection a newer epoch and counts it as a sign', async () => {
      const id = randomUUID();
      const first = await fixture.store.connect(id, 1000, STALE_AFTER_MS);
      const second = await fixture.peer.connect(id, 2000, STALE_AFTER_MS);
      expect(first).toEqual({ epoch: 1, previousState: 'unknown' });
      expect(second).toEqual({ epoch: 2, previousState: 'online' });
      expect((await fixture.store.get([id]))[0]).toMatchObject({
        state: 'online',
        lastSeenAt: 2000,
        epoch: 2,
      });
      // A heartbeat of the replaced connection changes nothing.
      expect((await fixture.store.applySign(sign(id, 3000, { epoch: 1 }), STALE_AFTER_MS)).applied).toBe(
        false,
      );
    });

    it('ignores the late close of a replaced connection and goes offline when the current one closes', async () => {
      const id = randomUUID();
      const old = await fixture.store.connect(id, 1000, STALE_AFTER_MS);
      const current = await fixture.peer.connect(id, 2000, STALE_AFTER_MS);
      expect((await fixture.store.disconnect(id, old.epoch)).applied).toBe(false);
      expect((await fixture.store.get([id]))[0]?.state).toBe('online');
      expect(await fixture.peer.disconnect(id, current.epoch)).toEqual({
        applied: true,
        previousState: 'online',
        lastSeenAt: 2000,
      });
      expect((await fixture.store.get([id]))[0]?.state).toBe('offline');
      expect(await fixture.store.due(Number.MAX_SAFE_INTEGER, 100_000)).not.toContain(id);
      // Closing twice makes one transition.
      expect((await fixture.peer.disconnect(id, current.epoch)).applied).toBe(false);
      expect((await fixture.peer.disconnect(randomUUID(), 1)).applied).toBe(false);
    });

    it('forgets a device entirely', async () => {
      const id = randomUUID();
      await fixture.store.applySign(sign(id, 1000), STALE_AFTER_MS);
      await fixture.peer.forget(id);
      expect(await fixture.store.get([id])).toEqual([null]);
      expect(await fixture.store.due(Number.MAX_SAFE_INTEGER, 100_000)).not.toContain(id);
      // A stale deadline of a forgotten device is cleared by the next transition attempt.
      expect(await fixture.store.transition(id, { state: 'unknown', lastSeenAt: 0 }, 'unknown', null)).toBe(
        false,
      );
    });

    it('keeps epochs growing across connections faster than the clock and from a clock behind', async () => {
      const id = randomUUID();
      const now = Date.now();
      const epochs: number[] = [];
      // Two in the same millisecond, then one from an instance whose clock is a few seconds behind.
      for (const [handle, at] of [
        [fixture.store, now],
        [fixture.peer, now],
        [fixture.store, now + 1],
        [fixture.peer, now - 5000],
      ] as const) {
        epochs.push((await handle.connect(id, at, STALE_AFTER_MS)).epoch);
      }
      expect(epochs.every((epoch, index) => index === 0 || epoch > (epochs[index - 1] ?? Infinity))).toBe(
        true,
      );
      expect(epochs.every((epoch) => Number.isSafeInteger(epoch))).toBe(true);
      expect((await fixture.store.get([id]))[0]?.epoch).toBe(epochs.at(-1));
    });

    it('gives the first connection after the store lost a device a larger epoch than any before', async () => {
      const id = randomUUID();
      const now = Date.now();
      const before: number[] = [];
      for (const at of [now - 3000, now - 3000, now - 2000]) {
        before.push((await fixture.store.connect(id, at, STALE_AFTER_MS)).epoch);
      }
      const newest = Math.max(...before);
      // The store loses the device (restart, flush, eviction, expiry); the old socket's late signs and
      // close must lose against the next connection, made by another instance.
      await fixture.store.forget(id);
      const next = await fixture.peer.connect(id, now, STALE_AFTER_MS);
      expect(next.previousState).toBe('unknown');
      expect(next.epoch).toBeGreaterThan(newest);
      expect(
        (await fixture.store.applySign(sign(id, now + 10, { epoch: newest }), STALE_AFTER_MS)).applied,
      ).toBe(false);
      expect((await fixture.store.disconnect(id, newest)).applied).toBe(false);
      expect((await fixture.peer.get([id]))[0]).toMatchObject({ state: 'online', epoch: next.epoch });
      expect((await fixture.peer.disconnect(id, next.epoch)).applied).toBe(true);
    });

    it('holds the bound on clock skew: an older epoch from a clock ahead by less than the gap still loses', async () => {
      const id = randomUUID();
      const now = Date.now();
      const gapMs = 1000;
      const skewMs = gapMs - 1;
      // Instance A, whose clock is ahead by skewMs, connects; the store loses the device; instance B
      // connects gapMs later by the true time.
      const older = await fixture.store.connect(id, now - gapMs + skewMs, STALE_AFTER_MS);
      await fixture.store.forget(id);
      const newer = await fixture.peer.connect(id, now, STALE_AFTER_MS);
      expect(newer.epoch).toBeGreaterThan(older.epoch);
    });

    it('seeds devices it does not know, with their deadlines, and leaves known devices alone', async () => {
      const base = 3 * 10 ** 12 + Math.floor(Math.random() * 10 ** 9);
      const lost = randomUUID();
      const known = randomUUID();
      await fixture.store.applySign(sign(known, base + 500, { heartbeat: '{"kept":true}' }), STALE_AFTER_MS);

      const seeded = await fixture.peer.seed([
        { deviceId: lost, state: 'stale', lastSeenAt: base, deadline: base + 3000 },
        { deviceId: known, state: 'online', lastSeenAt: base, deadline: base + 1500 },
      ]);

      expect(seeded).toEqual([lost]);
      expect(await fixture.store.get([lost, known])).toEqual([
        { state: 'stale', lastSeenAt: base, epoch: 0, heartbeat: null, heartbeatAt: null },
        expect.objectContaining({ state: 'online', lastSeenAt: base + 500, heartbeat: '{"kept":true}' }),
      ]);
      expect(await fixture.store.due(base + 2999, 100_000)).not.toContain(lost);
      expect(await fixture.store.due(base + 3000, 100_000)).toContain(lost);
      // The known device keeps the deadline of its own sign (base + 500 + 1500), not the seed's.
      expect(await fixture.store.due(base + 1999, 100_000)).not.toContain(known);
      // Seeding again changes nothing; the seeded state moves on like any other, once.
      expect(
        await fixture.store.seed([{ deviceId: lost, state: 'online', lastSeenAt: 1, deadline: 1 }]),
      ).toEqual([]);
      const moves = await Promise.all([
        fixture.store.transition(lost, { state: 'stale', lastSeenAt: base }, 'offline', null),
        fixture.peer.transition(lost, { state: 'stale', lastSeenAt: base }, 'offline', null),
      ]);
      expect(moves.filter(Boolean)).toHaveLength(1);
      expect(await fixture.peer.seed([])).toEqual([]);
    });

    it('lets one instance at a time rebuild a store that lost its data, then reports it whole', async () => {
      // Both adapters start as a store that holds nothing yet.
      const [a, b] = [randomUUID(), randomUUID()];
      expect(await fixture.store.checkRecovery(a, 100)).toEqual({ state: 'claimed' });
      expect(await fixture.peer.checkRecovery(b, 60_000)).toEqual({ state: 'busy' });
      expect(await fixture.peer.extendRecovery(b, 60_000)).toBe(false);
      expect(await fixture.peer.completeRecovery(b, 'generation-b')).toBe(false);

      // A claimant that stops half way loses its lease, and another takes over.
      await eventually(
        'the first claimant’s lease lapses and the other instance claims the rebuilding',
        () => fixture.peer.checkRecovery(b, 60_000),
        (recovery) => recovery.state === 'claimed',
        { timeoutMs: 5000, intervalMs: 20 },
      );
      expect(await fixture.store.extendRecovery(a, 60_000)).toBe(false);
      expect(await fixture.store.completeRecovery(a, 'generation-a')).toBe(false);
      expect(await fixture.store.checkRecovery(a, 60_000)).toEqual({ state: 'busy' });
      expect(await fixture.peer.checkRecovery(b, 60_000)).toEqual({ state: 'claimed' });
      expect(await fixture.peer.extendRecovery(b, 60_000)).toBe(true);

      expect(await fixture.peer.completeRecovery(b, 'generation-b')).toBe(true);
      expect(await fixture.store.checkRecovery(a, 60_000)).toEqual({
        state: 'intact',
        generation: 'generation-b',
      });
      expect(await fixture.peer.completeRecovery(b, 'generation-c')).toBe(false);
    });

    it('answers for several devices at once, null for unknown ones', async () => {
      const known = randomUUID();
      await fixture.store.applySign(sign(known, 1000), STALE_AFTER_MS);
      const views = await fixture.peer.get([randomUUID(), known]);
      expect(views[0]).toBeNull();
      expect(views[1]?.state).toBe('online');
      expect(await fixture.peer.get([])).toEqual([]);
    });
  });
}

import { randomUUID } from 'node:crypto';
import { type CommandClockStore } from '../../src/sessions/commands/delivery/command-clock.store';

export interface ClockStoreFixture {
  /** Two handles on the same shared state, as two gateway instances have. */
  store: CommandClockStore;
  peer: CommandClockStore;
  close(): Promise<void>;
}

const clock = (commandId: string, at: number, revision: number, queued = false) => ({
  commandId,
  at,
  revision,
  queued,
});

/** One contract for every CommandClockStore adapter (Redis and memory). */
export function describeClockStoreContract(name: string, open: () => Promise<ClockStoreFixture>): void {
  describe(`CommandClockStore contract: ${name}`, () => {
    let fixture: ClockStoreFixture;
    /** Times far from any other test's, so that each claims only its own clocks. */
    let base = 10_000_000;

    beforeAll(async () => {
      fixture = await open();
    });

    afterAll(async () => {
      await fixture?.close();
    });

    beforeEach(() => {
      base += 1_000_000;
    });

    it('claims due clocks earliest first under a lease, and gives them out again once the lease lapses', async () => {
      const [early, late, notYet]: [string, string, string] = [randomUUID(), randomUUID(), randomUUID()];
      await fixture.store.arm([
        clock(late, base + 20, 1),
        clock(early, base + 10, 1),
        clock(notYet, base + 500, 1),
      ]);
      const claimed = await fixture.peer.claimDue(base + 100, 1000, 100);
      expect(claimed.filter((id) => [early, late, notYet].includes(id))).toEqual([early, late]);
      // Leased: nobody else gets them while the claimant works...
      expect(await fixture.store.claimDue(base + 200, 1000, 100)).not.toContain(early);
      // ...but a claimant that died leaves them to the next sweep after its lease.
      expect(await fixture.store.claimDue(base + 1200, 1000, 100)).toEqual(
        expect.arrayContaining([early, late]),
      );
    });

    it('keeps the deadline of the newest revision, whichever writer comes last', async () => {
      const id = randomUUID();
      await fixture.store.arm([clock(id, base + 900, 5)]);
      await fixture.peer.arm([clock(id, base + 10, 4)]);
      expect(await fixture.store.claimDue(base + 100, 1000, 100)).not.toContain(id);
      await fixture.peer.clear(id, 4);
      expect(await fixture.store.claimDue(base + 950, 1000, 100)).toContain(id);
      await fixture.store.arm([clock(id, base + 5000, 6)]);
      await fixture.peer.clear(id, 6);
      expect(await fixture.store.claimDue(base + 999_999, 1000, 100)).not.toContain(id);
    });

    it('counts the queued commands across devices', async () => {
      const before = await fixture.store.countQueued();
      const [one, two] = [randomUUID(), randomUUID()];
      await fixture.store.arm([clock(one, base + 10, 1, true), clock(two, base + 10, 1, true)]);
      expect(await fixture.peer.countQueued()).toBe(before + 2);
      await fixture.peer.arm([clock(one, base + 10, 2, false)]);
      await fixture.store.clear(two, 3);
      expect(await fixture.store.countQueued()).toBe(before);
    });

    it('lets one claimant at a time rebuild a store that lost its clocks, then says it is whole', async () => {
      const [first, second] = [randomUUID(), randomUUID()];
      const claimed = await fixture.store.checkRecovery(first, 60_000);
      if (claimed.state === 'intact') throw new Error('a new store must ask to be rebuilt');
      expect(claimed).toEqual({ state: 'claimed' });
      expect(await fixture.peer.checkRecovery(second, 60_000)).toEqual({ state: 'busy' });
      expect(await fixture.peer.completeRecovery(second, 'not-mine')).toBe(false);
      expect(await fixture.store.completeRecovery(first, 'generation-1')).toBe(true);
      expect(await fixture.peer.checkRecovery(second, 60_000)).toEqual({
        state: 'intact',
        generation: 'generation-1',
      });
    });
  });
}

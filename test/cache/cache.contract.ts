import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { type Cache } from '../../src/infra/cache/cache';

/**
 * Caches as gateway instances see them. `cache` and `peer` are two instances of one deployment (same store,
 * same prefix); `otherDeployment` uses another prefix on the same store. The memory adapter serves one
 * instance only, so its peer is the cache itself and its other deployment a separate cache.
 */
export interface CacheUnderTest {
  cache: Cache;
  peer: Cache;
  otherDeployment: Cache;
  close(): Promise<void>;
}

const WAIT_LIMIT_MS = 5000;

/** Polls until `check` holds; fails after WAIT_LIMIT_MS instead of hanging, and costs no fixed sleep. */
async function waitUntil(description: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${description}`);
    await delay(10);
  }
}

/** Collects the messages a subscription delivers; `received(n)` resolves as soon as n have arrived. */
class Inbox {
  readonly messages: string[] = [];
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  readonly handler = (message: string): void => {
    this.messages.push(message);
    for (const waiter of this.waiters.filter(({ count }) => this.messages.length >= count)) waiter.resolve();
  };

  async received(count: number): Promise<string[]> {
    if (this.messages.length < count) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push({ count, resolve })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`Expected ${count} messages, got ${JSON.stringify(this.messages)}`));
          }, WAIT_LIMIT_MS);
        }),
      ]).finally(() => {
        clearTimeout(timer);
      });
    }
    return this.messages;
  }
}

/** The behaviour every Cache adapter must show; each spec file runs it unchanged against one adapter. */
export function describeCacheContract(adapterName: string, open: () => Promise<CacheUnderTest>): void {
  describe(`cache contract: ${adapterName}`, () => {
    let fixture: CacheUnderTest;
    let cache: Cache;
    let peer: Cache;
    let otherDeployment: Cache;
    /** Tests share the store; unique names keep them apart. */
    const unique = (name: string): string => `${name}:${randomUUID()}`;

    beforeAll(async () => {
      fixture = await open();
      ({ cache, peer, otherDeployment } = fixture);
    });

    afterAll(async () => {
      await (fixture as CacheUnderTest | undefined)?.close();
    });

    describe('values', () => {
      it('stores, overwrites and reads a value, shared by the instances of a deployment', async () => {
        const key = unique('value');
        await expect(cache.get(key)).resolves.toBeNull();

        await cache.set(key, 'first');
        await peer.set(key, 'second');

        await expect(cache.get(key)).resolves.toBe('second');
        await expect(peer.get(key)).resolves.toBe('second');
      });

      it('expires a value after its ttl', async () => {
        const key = unique('expiring');
        const started = Date.now();
        await cache.set(key, 'soon gone', 150);

        // Read at once; only meaningful if the ttl has not already passed, hence the guard.
        const early = await peer.get(key);
        if (Date.now() - started < 150) expect(early).toBe('soon gone');

        await waitUntil('the value expires', async () => (await cache.get(key)) === null);
        expect(Date.now() - started).toBeGreaterThanOrEqual(140);
        await expect(peer.get(key)).resolves.toBeNull();
      });

      it('keeps a value set without ttl, even over an earlier ttl', async () => {
        const key = unique('lasting');
        const marker = unique('marker');
        await cache.set(key, 'expiring', 100);
        await cache.set(key, 'lasting');
        await cache.set(marker, 'x', 100);

        // Once a twin of the earlier ttl has run out, the overwritten one would have too.
        await waitUntil('the marker expires', async () => (await cache.get(marker)) === null);

        await expect(cache.get(key)).resolves.toBe('lasting');
      });

      it('stores with setIfAbsent exactly once among racing instances, and again after expiry', async () => {
        const key = unique('claim');
        const contenders = Array.from({ length: 10 }, (_, index) =>
          (index % 2 === 0 ? cache : peer).setIfAbsent(key, `contender-${index}`, 200),
        );

        const results = await Promise.all(contenders);

        expect(results.filter(Boolean)).toHaveLength(1);
        await expect(cache.get(key)).resolves.toBe(`contender-${results.indexOf(true)}`);
        await waitUntil('the claim expires', async () => (await cache.get(key)) === null);
        await expect(peer.setIfAbsent(key, 'after expiry', 1000)).resolves.toBe(true);
        await expect(cache.setIfAbsent(key, 'too late', 1000)).resolves.toBe(false);
        await expect(cache.get(key)).resolves.toBe('after expiry');
      });

      it('deletes a value, and deleting a missing key is not an error', async () => {
        const key = unique('deleted');
        await cache.set(key, 'value');

        await peer.delete(key);
        await cache.delete(unique('never-set'));

        await expect(cache.get(key)).resolves.toBeNull();
      });
    });

    describe('sorted sets', () => {
      it('returns members up to a score, lowest first, at most limit of them', async () => {
        const key = unique('deadlines');
        await cache.sortedSetAdd(key, 'a', 3);
        await cache.sortedSetAdd(key, 'b', 1);
        await peer.sortedSetAdd(key, 'c', 2);
        await cache.sortedSetAdd(key, 'd', 10);

        await expect(cache.sortedSetRangeByScore(key, 3, 10)).resolves.toEqual(['b', 'c', 'a']);
        await expect(peer.sortedSetRangeByScore(key, 3, 2)).resolves.toEqual(['b', 'c']);
        await expect(cache.sortedSetRangeByScore(key, 0, 10)).resolves.toEqual([]);
        await expect(cache.sortedSetRangeByScore(unique('missing'), 100, 10)).resolves.toEqual([]);
      });

      it('moves a member re-added with a new score', async () => {
        const key = unique('moved');
        await cache.sortedSetAdd(key, 'a', 1);
        await cache.sortedSetAdd(key, 'b', 2);

        await cache.sortedSetAdd(key, 'a', 5);

        await expect(cache.sortedSetRangeByScore(key, 10, 10)).resolves.toEqual(['b', 'a']);
      });

      it('lets exactly one racing instance remove a member', async () => {
        const key = unique('claimed-work');
        await cache.sortedSetAdd(key, 'job', 1);
        await cache.sortedSetAdd(key, 'other-job', 2);

        const removals = await Promise.all([
          cache.sortedSetRemove(key, 'job'),
          peer.sortedSetRemove(key, 'job'),
          cache.sortedSetRemove(key, 'job'),
          peer.sortedSetRemove(key, 'job'),
        ]);

        expect(removals.filter(Boolean)).toHaveLength(1);
        await expect(cache.sortedSetRangeByScore(key, 10, 10)).resolves.toEqual(['other-job']);
        await expect(cache.sortedSetRemove(unique('missing'), 'job')).resolves.toBe(false);
      });
    });

    describe('publish and subscribe', () => {
      it("delivers messages published by one instance to another instance's subscribers, in order", async () => {
        const channel = unique('notices');
        const inbox = new Inbox();
        const unsubscribe = await peer.subscribe(channel, inbox.handler);

        await cache.publish(channel, 'one');
        await cache.publish(channel, 'two');
        await peer.publish(channel, 'three');

        await expect(inbox.received(3)).resolves.toEqual(['one', 'two', 'three']);
        await unsubscribe();
      });

      it('stops delivering to a handler once unsubscribed, and only to that handler', async () => {
        const channel = unique('unsubscribed');
        const leaving = new Inbox();
        const staying = new Inbox();
        const unsubscribeLeaving = await peer.subscribe(channel, leaving.handler);
        const unsubscribeStaying = await peer.subscribe(channel, staying.handler);
        await cache.publish(channel, 'before');
        await leaving.received(1);

        await unsubscribeLeaving();
        await cache.publish(channel, 'after');

        // Both handlers share one delivery path, so once `staying` has "after", `leaving` would have it too.
        await expect(staying.received(2)).resolves.toEqual(['before', 'after']);
        expect(leaving.messages).toEqual(['before']);
        await unsubscribeStaying();
      });
    });

    describe('deployments sharing one store', () => {
      it("do not see each other's keys or sorted sets", async () => {
        const key = unique('shared-name');
        const setKey = unique('shared-set-name');
        await cache.set(key, 'ours');
        await cache.sortedSetAdd(setKey, 'member', 1);

        await expect(otherDeployment.get(key)).resolves.toBeNull();
        await expect(otherDeployment.sortedSetRangeByScore(setKey, 10, 10)).resolves.toEqual([]);
        await expect(otherDeployment.sortedSetRemove(setKey, 'member')).resolves.toBe(false);
        await expect(otherDeployment.setIfAbsent(key, 'theirs', 5000)).resolves.toBe(true);
        await otherDeployment.delete(key);
        await expect(cache.get(key)).resolves.toBe('ours');
        await expect(cache.sortedSetRangeByScore(setKey, 10, 10)).resolves.toEqual(['member']);
      });

      it("do not receive each other's messages", async () => {
        const channel = unique('shared-channel');
        const theirs = new Inbox();
        const unsubscribe = await otherDeployment.subscribe(channel, theirs.handler);

        await cache.publish(channel, 'for our deployment only');
        await otherDeployment.publish(channel, 'for theirs');

        // Published in this order on one server: had ours leaked, it would have arrived first.
        await expect(theirs.received(1)).resolves.toEqual(['for theirs']);
        await unsubscribe();
      });
    });

    it('answers a ping', async () => {
      await expect(cache.ping()).resolves.toBeUndefined();
      await expect(peer.ping()).resolves.toBeUndefined();
    });
  });
}

import { randomUUID } from 'node:crypto';
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

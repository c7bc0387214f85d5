import { MemoryCommandClockStore } from '../../src/sessions/commands/delivery/memory-command-clock.store';
import { describeClockStoreContract } from './clock-store.contract';

describeClockStoreContract('memory (CACHE_BACKEND=memory)', () => {
  // One instance only: the peer is the same store.
  const store = new MemoryCommandClockStore();
  return Promise.resolve({ store, peer: store, close: () => Promise.resolve() });
});

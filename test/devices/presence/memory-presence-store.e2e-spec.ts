import { MemoryPresenceStore } from '../../../src/devices/presence/memory-presence.store';
import { describePresenceStoreContract } from './presence-store.contract';

describePresenceStoreContract('memory (CACHE_BACKEND=memory)', () => {
  // One instance only: the peer is the same store.
  const store = new MemoryPresenceStore();
  return Promise.resolve({ store, peer: store, close: () => Promise.resolve() });
});

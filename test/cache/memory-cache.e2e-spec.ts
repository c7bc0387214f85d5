import { MemoryCache } from '../../src/infra/cache/memory-cache';
import { describeCacheContract } from './cache.contract';

// The memory adapter serves a single instance: its "peer" is itself, another deployment another cache.
describeCacheContract('memory (CACHE_BACKEND=memory)', () => {
  const cache = new MemoryCache();
  return Promise.resolve({
    cache,
    peer: cache,
    otherDeployment: new MemoryCache(),
    close: () => Promise.resolve(),
  });
});

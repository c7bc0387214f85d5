import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testConfig } from '../support/test-config';
import { openStorage } from './open-storage';
import { describeStorageContract } from './storage.contract';

describeStorageContract('SQL repositories on embedded PGlite (DATA_BACKEND=embedded)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'gateway-pglite-'));
  // The embedded backend opens PGlite in DATA_DIR and applies the migrations itself, as on a first start.
  const storage = await openStorage(testConfig({ DATA_BACKEND: 'embedded', DATA_DIR: dataDir }));
  return {
    ...storage,
    close: async () => {
      await storage.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

import { createTestDatabase } from '../support/test-database';
import { testConfig } from '../support/test-config';
import { openStorage } from './open-storage';
import { describeStorageContract } from './storage.contract';

describeStorageContract('SQL repositories on PostgreSQL (DATA_BACKEND=postgres)', async () => {
  const database = await createTestDatabase();
  const storage = await openStorage(testConfig({ DATA_BACKEND: 'postgres', DATABASE_URL: database.url }));
  return {
    ...storage,
    close: async () => {
      await storage.close();
      await database.drop();
    },
  };
});

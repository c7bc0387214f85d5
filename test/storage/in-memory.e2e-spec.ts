import {
  InMemoryAuditLogRepository,
  InMemoryDeviceCredentialStore,
  InMemoryDeviceRepository,
} from '../support/in-memory-storage';
import { describeStorageContract } from './storage.contract';

// The fake the unit specs stand on keeps the promises of the real adapters, or those specs prove nothing.
describeStorageContract('in-memory fakes of the storage ports (unit specs)', () => {
  const devices = new InMemoryDeviceRepository();
  return Promise.resolve({
    devices,
    audit: new InMemoryAuditLogRepository(),
    credentials: new InMemoryDeviceCredentialStore(devices),
    setCreatedAt: (deviceIds: readonly string[], createdAt: Date) => {
      devices.setCreatedAt(deviceIds, createdAt);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  });
});

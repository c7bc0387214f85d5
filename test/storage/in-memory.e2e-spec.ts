import {
  InMemoryAuditLogRepository,
  InMemoryCommandRepository,
  InMemoryDeviceCredentialStore,
  InMemoryDeviceRepository,
  InMemorySessionRepository,
} from '../support/in-memory-storage';
import { describeStorageContract } from './storage.contract';

// The fake the unit specs stand on keeps the promises of the real adapters, or those specs prove nothing.
describeStorageContract(
  'in-memory fakes of the storage ports (unit specs)',
  () => {
    const devices = new InMemoryDeviceRepository();
    const sessions = new InMemorySessionRepository(devices);
    const commands = new InMemoryCommandRepository(sessions);
    return Promise.resolve({
      devices,
      audit: new InMemoryAuditLogRepository(),
      credentials: new InMemoryDeviceCredentialStore(devices),
      sessions,
      commands,
      setCreatedAt: (deviceIds: readonly string[], createdAt: Date) => {
        devices.setCreatedAt(deviceIds, createdAt);
        return Promise.resolve();
      },
      setSessionCreatedAt: (sessionIds: readonly string[], createdAt: Date) => {
        sessions.setCreatedAt(sessionIds, createdAt);
        return Promise.resolve();
      },
      setCommandTimes: (commandIds: readonly string[], times: { createdAt?: Date; expiresAt?: Date }) => {
        commands.setTimes(commandIds, times);
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    });
    // Remediation plans have no fake: no unit spec stands on one, so the real adapters alone keep this promise.
  },
  { plans: false },
);

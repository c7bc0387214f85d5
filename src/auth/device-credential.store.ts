/** What authentication needs of a device: whose it is, whether it may connect, and its secret's hash. */
export interface StoredDeviceCredential {
  customerId: string;
  revoked: boolean;
  secretHash: string;
}

/**
 * Auth's own read of device credentials, so that authentication depends on no feature: the devices
 * feature writes the rows, this port reads them. Every adapter passes the contract suite in test/storage.
 */
export abstract class DeviceCredentialStore {
  /** Revoked devices are returned too, with `revoked` set: a revoked id is refused, not unknown. */
  abstract find(deviceId: string): Promise<StoredDeviceCredential | null>;

  /** Ids of devices revoked at or after `since`, oldest revocation first, at most `limit`. */
  abstract listRevokedSince(since: Date, limit: number): Promise<string[]>;
}

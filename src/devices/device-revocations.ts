import { Injectable, Logger } from '@nestjs/common';
import { type Actor } from '../audit/audit-event';

/** A device deleted by its customer (`DELETE /v1/devices/:id`), announced once, by the instance that did it. */
export interface DeviceRevocation {
  deviceId: string;
  customerId: string;
  revokedBy: Actor;
}

type RevocationListener = (revocation: DeviceRevocation) => Promise<void>;

/**
 * What other features do when a device is deleted: sessions closes the device's open session. Those
 * features import devices, so devices publishes here instead of calling them (which would be an import
 * cycle). Listeners run one after another once the revocation is recorded, before the DELETE answers;
 * one that fails is logged and the others still run, as the revocation itself stands.
 */
@Injectable()
export class DeviceRevocations {
  private readonly logger = new Logger(DeviceRevocations.name);
  private readonly listeners = new Set<RevocationListener>();

  onRevoked(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async announce(revocation: DeviceRevocation): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(revocation);
      } catch (error) {
        this.logger.warn(
          `A listener to the revocation of device ${revocation.deviceId} failed: ${String(error)}`,
        );
      }
    }
  }
}

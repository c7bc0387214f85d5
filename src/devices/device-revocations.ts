import { Injectable, Logger } from '@nestjs/common';
import { type Actor } from '../audit/audit-event';
import { Announcements, type AnnouncementListener } from '../common/lifecycle/announcements';

/** A device deleted by its customer (`DELETE /v1/devices/:id`), announced once, by the instance that did it. */
export interface DeviceRevocation {
  deviceId: string;
  customerId: string;
  revokedBy: Actor;
}

/**
 * What other features do when a device is deleted: sessions closes the device's open session. Those
 * features import devices, so devices publishes here instead of calling them (which would be an import
 * cycle). Listeners run once the revocation is recorded, before the DELETE answers.
 */
@Injectable()
export class DeviceRevocations {
  private readonly announcements = new Announcements<DeviceRevocation>(
    new Logger(DeviceRevocations.name),
    (revocation) => `the revocation of device ${revocation.deviceId}`,
  );

  onRevoked(listener: AnnouncementListener<DeviceRevocation>): () => void {
    return this.announcements.listen(listener);
  }

  announce(revocation: DeviceRevocation): Promise<void> {
    return this.announcements.announce(revocation);
  }
}

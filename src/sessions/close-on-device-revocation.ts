import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DeviceRevocations } from '../devices/device-revocations';
import { SessionsService } from './sessions.service';

/**
 * `DELETE /v1/devices/:id` closes the device's open session (docs/guide.md#diagnostic-sessions). Sessions depend on devices,
 * not the reverse, so the devices feature announces the deletion and this listens.
 */
@Injectable()
export class CloseOnDeviceRevocation implements OnModuleInit, OnModuleDestroy {
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly revocations: DeviceRevocations,
    private readonly sessions: SessionsService,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.revocations.onRevoked((revocation) =>
      this.sessions.closeForRevokedDevice(revocation),
    );
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }
}

import { Injectable } from '@nestjs/common';
import { type Namespace } from 'socket.io';
import { type DeviceResponse } from '../devices/dto/device.response';
import { type PortalEvents, rooms } from './realtime.events';

/**
 * What other modules use to reach connected clients, with typed events; nothing else touches the
 * Socket.IO server. Emits go through the cluster adapter, so they reach sockets on every instance.
 */
@Injectable()
export class RealtimeService {
  private portal: Namespace | undefined;

  /** Called by the portal gateway once its namespace exists. */
  attachPortal(namespace: Namespace): void {
    this.portal = namespace;
  }

  /** To everyone watching the device: its customer's sockets and sockets subscribed to it (admins). */
  deviceStatus(device: DeviceResponse): void {
    this.emitToPortal([rooms.customer(device.customerId), rooms.device(device.id)], 'device:status', device);
  }

  private emitToPortal<E extends keyof PortalEvents>(to: string[], event: E, payload: PortalEvents[E]): void {
    this.portal?.to(to).emit(event, payload);
  }
}

import { Injectable } from '@nestjs/common';
import { type Namespace } from 'socket.io';
import { type ServerEvent } from './realtime.events';

/**
 * The outbound side of the realtime transport: what features use to reach connected portals, with
 * events they declare (serverEvent); nothing else touches the Socket.IO server. Emits go through the
 * cluster adapter, so they reach sockets on every instance.
 */
@Injectable()
export class RealtimeService {
  private portal: Namespace | undefined;

  /** Called by the portal gateway once its namespace exists. */
  attachPortal(namespace: Namespace): void {
    this.portal = namespace;
  }

  /** To every portal socket in any of `to` (room names from `rooms`), on every instance. */
  toPortal<Payload>(to: readonly string[], event: ServerEvent<Payload>, payload: Payload): void {
    this.portal?.to([...to]).emit(event.name, payload);
  }
}

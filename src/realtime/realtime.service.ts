import { Injectable } from '@nestjs/common';
import { type Namespace } from 'socket.io';
import { rooms, type ServerEvent } from './realtime.events';

/**
 * The outbound side of the realtime transport: what features use to reach connected portals and agents, with
 * events they declare (serverEvent); nothing else touches the Socket.IO server. Emits go through the
 * cluster adapter, so they reach sockets on every instance.
 */
@Injectable()
export class RealtimeService {
  private portal: Namespace | undefined;
  private agent: Namespace | undefined;

  /** Called by the portal gateway once its namespace exists. */
  attachPortal(namespace: Namespace): void {
    this.portal = namespace;
  }

  /** Called by the agent gateway once its namespace exists. */
  attachAgent(namespace: Namespace): void {
    this.agent = namespace;
  }

  /** To every /agent socket of a device, on every instance. */
  toAgent<Payload>(deviceId: string, event: ServerEvent<Payload>, payload: Payload): void {
    this.agent?.to(rooms.device(deviceId)).emit(event.name, payload);
  }

  /** To every portal socket in any of `to` (room names from `rooms`), on every instance. */
  toPortal<Payload>(to: readonly string[], event: ServerEvent<Payload>, payload: Payload): void {
    this.portal?.to([...to]).emit(event.name, payload);
  }
}

import { rooms, serverEvent } from '../realtime/realtime.events';
import { DEVICE_SCHEMA, type DeviceResponse } from './dto/device.response';

/** Server → portal (docs/guide.md#socketio): a device's full current state, after each presence transition. */
export const DEVICE_STATUS = serverEvent<DeviceResponse>('device:status', {
  namespaces: ['/portal'],
  summary:
    "A device's full current state after each presence transition: to its customer's sockets and to " +
    'sockets subscribed to it (`device:subscribe`).',
  payload: DEVICE_SCHEMA,
});

/** Everyone watching a device: its customer's sockets, and sockets subscribed to it (admins). */
export function watchersOf(device: Pick<DeviceResponse, 'id' | 'customerId'>): string[] {
  return [rooms.customer(device.customerId), rooms.device(device.id)];
}

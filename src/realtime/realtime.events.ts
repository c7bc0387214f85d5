import { type DeviceResponse } from '../devices/dto/device.response';

/** Why the gateway ended a socket; sent in `session:end` just before it disconnects the socket. */
export type SessionEndReason = 'replaced' | 'revoked' | 'token_expired';

export const SESSION_END_EVENT = 'session:end';

/** Server → portal events (PRODUCT §6), each carrying the full current object. */
export interface PortalEvents {
  'device:status': DeviceResponse;
}

/** Room names, shared by every instance through the Socket.IO adapter. */
export const rooms = {
  customer: (customerId: string): string => `customer:${customerId}`,
  device: (deviceId: string): string => `device:${deviceId}`,
};

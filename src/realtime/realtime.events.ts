import { type DeviceResponse } from '../devices/dto/device.response';

/**
 * Why the gateway closes a socket; sent in `connection:closing` just before it closes the socket.
 * `token_expired` is sent on /portal only. ("Session" is kept for diagnostic sessions.)
 */
export type ConnectionCloseReason = 'replaced' | 'revoked' | 'shutdown' | 'token_expired';

export const CONNECTION_CLOSING_EVENT = 'connection:closing';

/** Server → portal events (PRODUCT §6), each carrying the full current object. */
export interface PortalEvents {
  'device:status': DeviceResponse;
}

/** Room names, shared by every instance through the Socket.IO adapter. */
export const rooms = {
  customer: (customerId: string): string => `customer:${customerId}`,
  device: (deviceId: string): string => `device:${deviceId}`,
};

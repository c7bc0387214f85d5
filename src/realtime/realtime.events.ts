/**
 * Why the gateway closes a socket; sent in `connection:closing` just before it closes the socket.
 * `token_expired` is sent on /portal only. ("Session" is kept for diagnostic sessions.)
 */
export type ConnectionCloseReason = 'replaced' | 'revoked' | 'shutdown' | 'token_expired';

export const CONNECTION_CLOSING_EVENT = 'connection:closing';

/**
 * A server → client event and the type of its payload. Features declare theirs (`device:status` in
 * devices/) and emit them through RealtimeService, which so stays free of feature types.
 */
export interface ServerEvent<Payload> {
  readonly name: string;
  /** Never set: it only carries the payload's type. */
  readonly payload?: Payload;
}

export function serverEvent<Payload>(name: string): ServerEvent<Payload> {
  return { name };
}

/** Room names, shared by every instance through the Socket.IO adapter. */
export const rooms = {
  customer: (customerId: string): string => `customer:${customerId}`,
  device: (deviceId: string): string => `device:${deviceId}`,
};

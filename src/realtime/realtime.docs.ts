import { type PrincipalKind } from '../auth/principal';
import { type AnySchema, integer, object, optional, string } from '../common/docs/typed-schema';
import { type RealtimeNamespace } from './realtime.events';

/** What the AsyncAPI document says of a namespace beyond its events. */
export interface NamespaceDocs {
  description: string;
  principal: PrincipalKind;
  /** The handshake's `auth` object (`io(url, { auth })`). */
  handshakeAuth: AnySchema;
}

export const NAMESPACE_DOCS: Record<RealtimeNamespace, NamespaceDocs> = {
  '/agent': {
    description:
      'Device agents. A socket joins `device:<id>`; a newer connection of the same device takes over and ' +
      'the older socket is closed with `connection:closing { reason: replaced }`.',
    principal: 'device',
    handshakeAuth: object<{ deviceId: string; secret: string }>({
      deviceId: string({ format: 'uuid' }),
      secret: string({ description: 'The secret shown once when the device was created' }),
    }),
  },
  '/portal': {
    description:
      "Customers' portals. A socket joins `customer:<sub>` and hears every event about its devices; " +
      '`device:subscribe` adds single devices (any device, for admins).',
    principal: 'customer',
    handshakeAuth: object<{ token: string }>({
      token: string({ description: 'A Supabase Auth access token (refresh it with `auth:refresh`)' }),
    }),
  },
};

/**
 * How a refused handshake reaches the client: Socket.IO's `connect_error`, whose `data.code` is
 * `unauthorized` (do not retry with the same credentials) or `dependency_unavailable` (retry after
 * `retryAfterSec`).
 */
export const HANDSHAKE_ERROR_SCHEMA = object<{
  message: string;
  data: { code: string; retryAfterSec?: number };
}>({
  message: string(),
  data: object<{ code: string; retryAfterSec?: number }>({
    code: string({ examples: ['unauthorized', 'dependency_unavailable'] }),
    retryAfterSec: optional(integer({ minimum: 0 })),
  }),
});

import { type Actor } from '../audit/audit-event';

export type PrincipalKind = 'device' | 'customer' | 'service';

export interface DevicePrincipal {
  kind: 'device';
  deviceId: string;
  customerId: string;
}

export interface CustomerPrincipal {
  kind: 'customer';
  userId: string;
  sessionId: string;
  isAdmin: boolean;
  email: string | null;
  /** When the access token stops being valid (epoch milliseconds); sockets are closed then. */
  expiresAt: number;
}

export interface ServicePrincipal {
  kind: 'service';
  name: string;
}

export type Principal = DevicePrincipal | CustomerPrincipal | ServicePrincipal;

export function actorOf(principal: Principal): Actor {
  switch (principal.kind) {
    case 'device':
      return `device:${principal.deviceId}`;
    case 'customer':
      return `customer:${principal.userId}`;
    case 'service':
      return `service:${principal.name}`;
  }
}

/** The principal's own id: a device id, a customer's `sub`, a service's name (none is a credential). */
export function principalIdOf(principal: Principal): string {
  switch (principal.kind) {
    case 'device':
      return principal.deviceId;
    case 'customer':
      return principal.userId;
    case 'service':
      return principal.name;
  }
}

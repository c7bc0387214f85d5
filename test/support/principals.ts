import { randomUUID } from 'node:crypto';
import { type CustomerPrincipal } from '../../src/auth/principal';

/** A customer as the guard admits one, for tests that call services directly; an hour before it expires. */
export function customerPrincipal(overrides: Partial<CustomerPrincipal> = {}): CustomerPrincipal {
  return {
    kind: 'customer',
    userId: randomUUID(),
    sessionId: randomUUID(),
    isAdmin: false,
    email: null,
    expiresAt: Date.now() + 3_600_000,
    ...overrides,
  };
}

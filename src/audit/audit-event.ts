import { described, named } from '../common/docs/typed-schema';

/** Who did something: `customer:<uuid>`, `device:<uuid>`, `service:<name>` or `system`. */
export type Actor = `customer:${string}` | `device:${string}` | `service:${string}` | 'system';

/** Who did something, as every `...By` field carries it. */
export const ACTOR_SCHEMA = named(
  'Actor',
  described<Actor>({
    type: 'string',
    pattern: '^((customer|device|service):.+|system)$',
    description: '`customer:<user id>`, `device:<device id>`, `service:<key name>` or `system` (the gateway)',
    examples: ['customer:6f1c2a52-8f0e-4c1e-9d51-3a4b4f0c9e11', 'service:planner', 'system'],
  }),
);

export interface NewAuditEvent {
  actor: Actor;
  action: string;
  subjectType: string;
  subjectId: string;
  customerId: string | null;
  details?: Record<string, unknown>;
}

export interface AuditEvent extends Required<NewAuditEvent> {
  id: string;
  occurredAt: Date;
}

export interface AuditQuery {
  subjectType: string;
  subjectId: string;
  limit: number;
}

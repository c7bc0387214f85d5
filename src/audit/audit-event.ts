/** Who did something: `customer:<uuid>`, `device:<uuid>`, `service:<name>` or `system`. */
export type Actor = `customer:${string}` | `device:${string}` | `service:${string}` | 'system';

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

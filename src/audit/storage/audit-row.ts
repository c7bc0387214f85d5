import { type Actor, type AuditEvent } from '../audit-event';

export interface AuditRow {
  /** bigint: a string from pg, a number from PostgREST. */
  id: string | number;
  occurred_at: Date | string;
  actor: Actor;
  action: string;
  subject_type: string;
  subject_id: string;
  customer_id: string | null;
  details: Record<string, unknown> | null;
}

export function toAuditEvent(row: AuditRow): AuditEvent {
  return {
    id: String(row.id),
    occurredAt: new Date(row.occurred_at),
    actor: row.actor,
    action: row.action,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    customerId: row.customer_id,
    details: row.details ?? {},
  };
}

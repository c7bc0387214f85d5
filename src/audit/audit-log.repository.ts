import { type AuditEvent, type AuditQuery, type NewAuditEvent } from './audit-event';

/** Storage port for the append-only audit log. */
export abstract class AuditLogRepository {
  abstract append(event: NewAuditEvent): Promise<AuditEvent>;

  /** Events about one subject, oldest first. */
  abstract listForSubject(query: AuditQuery): Promise<AuditEvent[]>;
}

import { Injectable } from '@nestjs/common';
import { type AuditEvent, type AuditQuery, type NewAuditEvent } from '../audit-event';
import { AuditLogRepository } from '../audit-log.repository';
import { type AuditRow, toAuditEvent } from './audit-row';
import { SqlExecutor } from '../../infra/database/sql/sql-executor';

@Injectable()
export class SqlAuditLogRepository extends AuditLogRepository {
  constructor(private readonly sql: SqlExecutor) {
    super();
  }

  async append(event: NewAuditEvent): Promise<AuditEvent> {
    const [row] = await this.sql.query<AuditRow>(
      `insert into public.audit_events (actor, action, subject_type, subject_id, customer_id, details)
       values ($1, $2, $3, $4, $5, $6) returning *`,
      [event.actor, event.action, event.subjectType, event.subjectId, event.customerId, event.details ?? {}],
    );
    return toAuditEvent(row as AuditRow);
  }

  async listForSubject(query: AuditQuery): Promise<AuditEvent[]> {
    const rows = await this.sql.query<AuditRow>(
      `select * from public.audit_events where subject_type = $1 and subject_id = $2
       order by id limit $3`,
      [query.subjectType, query.subjectId, query.limit],
    );
    return rows.map(toAuditEvent);
  }
}

import { Injectable } from '@nestjs/common';
import { type SupabaseClient } from '@supabase/supabase-js';
import { type AuditEvent, type AuditQuery, type NewAuditEvent } from '../audit-event';
import { AuditLogRepository } from '../audit-log.repository';
import { InjectSupabase } from '../../infra/supabase/supabase-client.provider';
import { type AuditRow, toAuditEvent } from './audit-row';
import { failureFrom } from '../../infra/database/supabase/postgrest-error';

@Injectable()
export class SupabaseAuditLogRepository extends AuditLogRepository {
  constructor(@InjectSupabase() private readonly supabase: SupabaseClient) {
    super();
  }

  async append(event: NewAuditEvent): Promise<AuditEvent> {
    const { data, error } = await this.supabase
      .from('audit_events')
      .insert({
        actor: event.actor,
        action: event.action,
        subject_type: event.subjectType,
        subject_id: event.subjectId,
        customer_id: event.customerId,
        details: event.details ?? {},
      })
      .select()
      .single<AuditRow>();
    if (error) throw failureFrom(error);
    return toAuditEvent(data);
  }

  async listForSubject(query: AuditQuery): Promise<AuditEvent[]> {
    const { data, error } = await this.supabase
      .from('audit_events')
      .select('*')
      .eq('subject_type', query.subjectType)
      .eq('subject_id', query.subjectId)
      .order('id', { ascending: true })
      .limit(query.limit)
      .retry(false)
      .overrideTypes<AuditRow[], { merge: false }>();
    if (error) throw failureFrom(error);
    return data.map(toAuditEvent);
  }
}

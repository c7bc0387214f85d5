import { Injectable } from '@nestjs/common';
import { type SupabaseClient } from '@supabase/supabase-js';
import { isUuid } from '../../common/uuid';
import { DeviceNotFoundError } from '../../devices/devices.errors';
import { toPage, type Page } from '../../infra/database/keyset-cursor';
import { keysetPage } from '../../infra/database/supabase/keyset-page';
import { callFunction } from '../../infra/database/supabase/call-function';
import { failureFrom } from '../../infra/database/supabase/postgrest-error';
import { InjectSupabase } from '../../infra/supabase/supabase-client.provider';
import { type NewSession, type SessionClosing, type SessionListQuery, type SessionRecord } from '../session';
import { SessionRepository } from '../session.repository';
import { openedSession, type SessionOpening, type SessionRow, toSessionRecord } from './session-row';

@Injectable()
export class SupabaseSessionRepository extends SessionRepository {
  constructor(@InjectSupabase() private readonly supabase: SupabaseClient) {
    super();
  }

  private get sessions() {
    return this.supabase.from('diagnostic_sessions');
  }

  async open(session: NewSession): Promise<SessionRecord> {
    if (!isUuid(session.deviceId)) throw new DeviceNotFoundError(session.deviceId);
    const opening = await callFunction<SessionOpening>(this.supabase, 'open_diagnostic_session', {
      p_device_id: session.deviceId,
      p_customer_id: session.customerId,
      p_reason: session.reason,
      p_opened_by: session.openedBy,
    });
    return openedSession(opening, session.deviceId);
  }

  async findById(id: string): Promise<SessionRecord | null> {
    if (!isUuid(id)) return null;
    const { data, error } = await this.sessions
      .select('*')
      .eq('id', id)
      .retry(false)
      .maybeSingle<SessionRow>();
    if (error) throw failureFrom(error);
    return data ? toSessionRecord(data) : null;
  }

  async list(query: SessionListQuery): Promise<Page<SessionRecord>> {
    let request = this.sessions.select('*');
    if (query.customerId !== undefined) request = request.eq('customer_id', query.customerId);
    if (query.deviceId !== undefined) {
      if (!isUuid(query.deviceId)) return { items: [], nextCursor: null };
      request = request.eq('device_id', query.deviceId);
    }
    if (query.state !== undefined) request = request.eq('state', query.state);
    const { data, error } = await keysetPage(request, query.cursor, query.limit)
      .retry(false)
      .overrideTypes<SessionRow[], { merge: false }>();
    if (error) throw failureFrom(error);
    return toPage(data.map(toSessionRecord), query.limit);
  }

  async close(id: string, closing: SessionClosing): Promise<SessionRecord | null> {
    if (!isUuid(id)) return null;
    const now = new Date().toISOString();
    const { data, error } = await this.sessions
      .update({
        state: 'closed',
        closed_at: now,
        closed_by: closing.closedBy,
        close_reason: closing.closeReason,
        updated_at: now,
      })
      .eq('id', id)
      .eq('state', 'open')
      .select()
      .maybeSingle<SessionRow>();
    if (error) throw failureFrom(error);
    return data ? toSessionRecord(data) : null;
  }
}

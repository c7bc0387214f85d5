import { Injectable } from '@nestjs/common';
import { isUuid } from '../../common/uuid';
import { DeviceNotFoundError } from '../../devices/devices.errors';
import { decodeCursor, toPage, type Page } from '../../infra/database/keyset-cursor';
import { SqlExecutor } from '../../infra/database/sql/sql-executor';
import { type NewSession, type SessionClosing, type SessionListQuery, type SessionRecord } from '../session';
import { SessionRepository } from '../session.repository';
import { openedSession, type SessionOpening, type SessionRow, toSessionRecord } from './session-row';

@Injectable()
export class SqlSessionRepository extends SessionRepository {
  constructor(private readonly sql: SqlExecutor) {
    super();
  }

  async open(session: NewSession): Promise<SessionRecord> {
    if (!isUuid(session.deviceId)) throw new DeviceNotFoundError(session.deviceId);
    const [row] = await this.sql.query<{ result: SessionOpening }>(
      'select public.open_diagnostic_session($1, $2, $3, $4) as result',
      [session.deviceId, session.customerId, session.reason, session.openedBy],
    );
    if (!row) throw new Error('open_diagnostic_session returned no row');
    return openedSession(row.result, session.deviceId);
  }

  async findById(id: string): Promise<SessionRecord | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.sql.query<SessionRow>('select * from public.diagnostic_sessions where id = $1', [
      id,
    ]);
    return row ? toSessionRecord(row) : null;
  }

  async list(query: SessionListQuery): Promise<Page<SessionRecord>> {
    const conditions = ['true'];
    const params: unknown[] = [];
    const bind = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (query.customerId !== undefined) conditions.push(`customer_id = ${bind(query.customerId)}::uuid`);
    if (query.deviceId !== undefined) {
      if (!isUuid(query.deviceId)) return { items: [], nextCursor: null };
      conditions.push(`device_id = ${bind(query.deviceId)}::uuid`);
    }
    if (query.state !== undefined) conditions.push(`state = ${bind(query.state)}`);
    if (query.cursor !== undefined) {
      const after = decodeCursor(query.cursor);
      conditions.push(`(created_at, id) > (${bind(after.createdAt)}::timestamptz, ${bind(after.id)}::uuid)`);
    }
    const rows = await this.sql.query<SessionRow>(
      `select * from public.diagnostic_sessions where ${conditions.join(' and ')}
       order by created_at, id limit ${bind(query.limit + 1)}`,
      params,
    );
    return toPage(rows.map(toSessionRecord), query.limit);
  }

  async close(id: string, closing: SessionClosing): Promise<SessionRecord | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.sql.query<SessionRow>(
      `update public.diagnostic_sessions
       set state = 'closed', closed_at = date_trunc('milliseconds', now()), closed_by = $2, close_reason = $3,
           updated_at = now()
       where id = $1 and state = 'open' returning *`,
      [id, closing.closedBy, closing.closeReason],
    );
    return row ? toSessionRecord(row) : null;
  }
}

import { Injectable } from '@nestjs/common';
import { isUuid } from '../../../common/uuid';
import { decodeCursor, toPage, type Page } from '../../../infra/database/keyset-cursor';
import { SqlExecutor } from '../../../infra/database/sql/sql-executor';
import { SessionClosedError } from '../../sessions.errors';
import {
  type CommandChange,
  type CommandCreation,
  type CommandRecord,
  type CommandStatus,
  type NewCommand,
} from '../command';
import { CommandRepository } from '../command.repository';
import { OPEN_COMMAND_STATUSES } from '../command-lifecycle';
import {
  type CommandCreationResult,
  type CommandRow,
  createdCommand,
  toCommandRecord,
  transitionArguments,
} from './command-row';

/** jsonb parameters as JSON text: the drivers would turn a JavaScript array into a PostgreSQL array. */
const asJson = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));

@Injectable()
export class SqlCommandRepository extends CommandRepository {
  constructor(private readonly sql: SqlExecutor) {
    super();
  }

  async create(command: NewCommand): Promise<CommandCreation> {
    if (!isUuid(command.sessionId)) throw new SessionClosedError(command.sessionId);
    const [row] = await this.sql.query<{ result: CommandCreationResult }>(
      `select public.create_command($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11) as result`,
      [
        command.sessionId,
        command.type,
        asJson(command.params),
        command.timeoutSec,
        command.expiresInSec,
        command.issuedBy,
        command.planStep?.planId ?? null,
        command.planStep?.stepIndex ?? null,
        command.idempotency?.key ?? null,
        command.idempotency?.requestHash ?? null,
        command.idempotency?.windowSec ?? 0,
      ],
    );
    if (!row) throw new Error('create_command returned no row');
    return createdCommand(row.result, command.sessionId);
  }

  async findById(id: string): Promise<CommandRecord | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.sql.query<CommandRow>('select * from public.commands where id = $1', [id]);
    return row ? toCommandRecord(row) : null;
  }

  async listBySession(query: {
    sessionId: string;
    cursor?: string;
    limit: number;
  }): Promise<Page<CommandRecord>> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (!isUuid(query.sessionId)) return { items: [], nextCursor: null };
    const rows = await this.sql.query<CommandRow>(
      `select * from public.commands
       where session_id = $1 and ($2::timestamptz is null or (created_at, id) > ($2::timestamptz, $3::uuid))
       order by created_at, id limit $4`,
      [query.sessionId, after?.createdAt ?? null, after?.id ?? null, query.limit + 1],
    );
    return toPage(rows.map(toCommandRecord), query.limit);
  }

  async transition(
    id: string,
    from: readonly CommandStatus[],
    change: CommandChange,
  ): Promise<CommandRecord | null> {
    if (!isUuid(id) || from.length === 0) return null;
    const args = transitionArguments(id, from, change);
    const [row] = await this.sql.query<CommandRow>(
      `select * from public.transition_command($1, $2::text[], $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb)`,
      [
        args.p_id,
        args.p_from,
        args.p_to,
        args.p_stamp,
        args.p_bump_attempt,
        asJson(args.p_progress),
        asJson(args.p_output),
        asJson(args.p_error),
      ],
    );
    return row ? toCommandRecord(row) : null;
  }

  async claimQueued(deviceId: string, maxInFlight: number): Promise<CommandRecord[]> {
    if (!isUuid(deviceId)) return [];
    const rows = await this.sql.query<CommandRow>('select * from public.claim_queued_commands($1, $2)', [
      deviceId,
      maxInFlight,
    ]);
    return rows.map(toCommandRecord);
  }

  async countQueued(deviceId: string): Promise<number> {
    if (!isUuid(deviceId)) return 0;
    const [row] = await this.sql.query<{ count: number }>(
      `select count(*)::integer as count from public.commands where device_id = $1 and status = 'queued'`,
      [deviceId],
    );
    return row?.count ?? 0;
  }

  async listNotFinal(page: { afterId?: string; limit: number }): Promise<CommandRecord[]> {
    const rows = await this.sql.query<CommandRow>(
      `select * from public.commands
       where status = any($1::text[]) and ($2::uuid is null or id > $2::uuid)
       order by id limit $3`,
      [OPEN_COMMAND_STATUSES, page.afterId ?? null, page.limit],
    );
    return rows.map(toCommandRecord);
  }
}

import { Injectable } from '@nestjs/common';
import { type SupabaseClient } from '@supabase/supabase-js';
import { isUuid } from '../../../common/uuid';
import { toPage, type Page } from '../../../infra/database/keyset-cursor';
import { keysetPage } from '../../../infra/database/supabase/keyset-page';
import { callFunction } from '../../../infra/database/supabase/call-function';
import { failureFrom } from '../../../infra/database/supabase/postgrest-error';
import { InjectSupabase } from '../../../infra/supabase/supabase-client.provider';
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

@Injectable()
export class SupabaseCommandRepository extends CommandRepository {
  constructor(@InjectSupabase() private readonly supabase: SupabaseClient) {
    super();
  }

  private get commands() {
    return this.supabase.from('commands');
  }

  async create(command: NewCommand): Promise<CommandCreation> {
    if (!isUuid(command.sessionId)) throw new SessionClosedError(command.sessionId);
    const result = await callFunction<CommandCreationResult>(this.supabase, 'create_command', {
      p_session_id: command.sessionId,
      p_type: command.type,
      p_params: command.params,
      p_timeout_sec: command.timeoutSec,
      p_expires_in_sec: command.expiresInSec,
      p_issued_by: command.issuedBy,
      p_plan_id: command.planStep?.planId ?? null,
      p_step_index: command.planStep?.stepIndex ?? null,
      p_idempotency_key: command.idempotency?.key ?? null,
      p_request_hash: command.idempotency?.requestHash ?? null,
      p_idempotency_window_sec: command.idempotency?.windowSec ?? 0,
    });
    return createdCommand(result, command.sessionId);
  }

  async findById(id: string): Promise<CommandRecord | null> {
    if (!isUuid(id)) return null;
    const { data, error } = await this.commands
      .select('*')
      .eq('id', id)
      .retry(false)
      .maybeSingle<CommandRow>();
    if (error) throw failureFrom(error);
    return data ? toCommandRecord(data) : null;
  }

  async listBySession(query: {
    sessionId: string;
    cursor?: string;
    limit: number;
  }): Promise<Page<CommandRecord>> {
    if (!isUuid(query.sessionId)) return { items: [], nextCursor: null };
    const { data, error } = await keysetPage(
      this.commands.select('*').eq('session_id', query.sessionId),
      query.cursor,
      query.limit,
    )
      .retry(false)
      .overrideTypes<CommandRow[], { merge: false }>();
    if (error) throw failureFrom(error);
    return toPage(data.map(toCommandRecord), query.limit);
  }

  async transition(
    id: string,
    from: readonly CommandStatus[],
    change: CommandChange,
  ): Promise<CommandRecord | null> {
    if (!isUuid(id) || from.length === 0) return null;
    const [row] = await callFunction<CommandRow[]>(
      this.supabase,
      'transition_command',
      transitionArguments(id, from, change),
    );
    return row ? toCommandRecord(row) : null;
  }

  async claimQueued(deviceId: string, maxInFlight: number): Promise<CommandRecord[]> {
    if (!isUuid(deviceId)) return [];
    const rows = await callFunction<CommandRow[]>(this.supabase, 'claim_queued_commands', {
      p_device_id: deviceId,
      p_max_in_flight: maxInFlight,
    });
    return rows.map(toCommandRecord);
  }

  async countQueued(deviceId: string): Promise<number> {
    if (!isUuid(deviceId)) return 0;
    const { count, error } = await this.commands
      .select('id', { count: 'exact', head: true })
      .eq('device_id', deviceId)
      .eq('status', 'queued')
      .retry(false);
    if (error) throw failureFrom(error);
    return count ?? 0;
  }

  async listNotFinal(page: { afterId?: string; limit: number }): Promise<CommandRecord[]> {
    let request = this.commands.select('*').in('status', [...OPEN_COMMAND_STATUSES]);
    if (page.afterId !== undefined) request = request.gt('id', page.afterId);
    const { data, error } = await request
      .order('id', { ascending: true })
      .limit(page.limit)
      .retry(false)
      .overrideTypes<CommandRow[], { merge: false }>();
    if (error) throw failureFrom(error);
    return data.map(toCommandRecord);
  }
}

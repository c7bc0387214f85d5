import { Injectable } from '@nestjs/common';
import {
  type DeviceChanges,
  type DeviceListQuery,
  type DeviceRecord,
  type HeartbeatSign,
  type NewDevice,
  presenceCountsOf,
  type PresenceState,
} from '../device';
import { DeviceRepository } from '../device.repository';
import { DeviceSerialTakenError } from '../devices.errors';
import { isUuid } from '../../common/uuid';
import { deviceChangesToColumns, type DeviceRow, signRowsOf, toDeviceRecord } from './device-row';
import { decodeCursor, toPage, type Page } from '../../infra/database/keyset-cursor';
import { SqlExecutor, sqlStateOf, UNIQUE_VIOLATION } from '../../infra/database/sql/sql-executor';

@Injectable()
export class SqlDeviceRepository extends DeviceRepository {
  constructor(private readonly sql: SqlExecutor) {
    super();
  }

  async create(device: NewDevice): Promise<DeviceRecord> {
    try {
      const [row] = await this.sql.query<DeviceRow>(
        `insert into public.devices (customer_id, name, serial, secret_hash)
         values ($1, $2, $3, $4) returning *`,
        [device.customerId, device.name, device.serial, device.secretHash],
      );
      return toDeviceRecord(row as DeviceRow);
    } catch (error) {
      if (sqlStateOf(error) === UNIQUE_VIOLATION && device.serial !== null) {
        throw new DeviceSerialTakenError(device.serial);
      }
      throw error;
    }
  }

  async findById(id: string): Promise<DeviceRecord | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.sql.query<DeviceRow>('select * from public.devices where id = $1', [id]);
    return row ? toDeviceRecord(row) : null;
  }

  async list(query: DeviceListQuery): Promise<Page<DeviceRecord>> {
    const conditions = [`status <> 'revoked'`];
    const params: unknown[] = [];
    const bind = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (query.customerId !== undefined) conditions.push(`customer_id = ${bind(query.customerId)}`);
    if (query.presenceStates !== undefined)
      conditions.push(`presence_state = any(${bind(query.presenceStates)}::text[])`);
    if (query.cursor !== undefined) {
      const after = decodeCursor(query.cursor);
      conditions.push(`(created_at, id) > (${bind(after.createdAt)}::timestamptz, ${bind(after.id)}::uuid)`);
    }
    const rows = await this.sql.query<DeviceRow>(
      `select * from public.devices where ${conditions.join(' and ')}
       order by created_at, id limit ${bind(query.limit + 1)}`,
      params,
    );
    return toPage(rows.map(toDeviceRecord), query.limit);
  }

  async listByPresence(
    states: readonly PresenceState[],
    page: { afterId?: string; limit: number },
  ): Promise<DeviceRecord[]> {
    if (states.length === 0) return [];
    const rows = await this.sql.query<DeviceRow>(
      `select * from public.devices
       where status <> 'revoked' and presence_state = any($1::text[]) and ($2::uuid is null or id > $2::uuid)
       order by id limit $3`,
      [states, page.afterId ?? null, page.limit],
    );
    return rows.map(toDeviceRecord);
  }

  async countByPresence(): Promise<Record<PresenceState, number>> {
    // The migration's function, which the Supabase adapter calls too.
    return presenceCountsOf(
      await this.sql.query<{ presence_state: string; devices: string }>(
        'select * from public.count_devices_by_presence()',
      ),
    );
  }

  async update(id: string, changes: DeviceChanges): Promise<DeviceRecord | null> {
    if (!isUuid(id)) return null;
    const columns = deviceChangesToColumns(changes);
    const assignments = columns.map(([column], index) => `${column} = $${index + 2}`);
    assignments.push('updated_at = now()');
    const [row] = await this.sql.query<DeviceRow>(
      `update public.devices set ${assignments.join(', ')}
       where id = $1 and status <> 'revoked' returning *`,
      [id, ...columns.map(([, value]) => value)],
    );
    return row ? toDeviceRecord(row) : null;
  }

  async recordSigns(signs: readonly HeartbeatSign[]): Promise<void> {
    const rows = signRowsOf(signs);
    if (rows.length === 0) return;
    // The migration's function, which the Supabase adapter calls too.
    await this.sql.query('select public.record_device_signs($1::jsonb)', [JSON.stringify(rows)]);
  }

  async revoke(id: string): Promise<DeviceRecord | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.sql.query<DeviceRow>(
      `update public.devices set status = 'revoked', revoked_at = now(), updated_at = now()
       where id = $1 and status <> 'revoked' returning *`,
      [id],
    );
    return row ? toDeviceRecord(row) : null;
  }
}

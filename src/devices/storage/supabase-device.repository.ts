import { Injectable } from '@nestjs/common';
import { type SupabaseClient } from '@supabase/supabase-js';
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
import { InjectSupabase } from '../../infra/supabase/supabase-client.provider';
import { isUuid } from '../../common/uuid';
import { deviceChangesToColumns, type DeviceRow, signRowsOf, toDeviceRecord } from './device-row';
import { toPage, type Page } from '../../infra/database/keyset-cursor';
import { keysetPage } from '../../infra/database/supabase/keyset-page';
import { UNIQUE_VIOLATION } from '../../infra/database/sql/sql-executor';
import { failureFrom } from '../../infra/database/supabase/postgrest-error';
import { callFunction } from '../../infra/database/supabase/call-function';

@Injectable()
export class SupabaseDeviceRepository extends DeviceRepository {
  constructor(@InjectSupabase() private readonly supabase: SupabaseClient) {
    super();
  }

  private get devices() {
    return this.supabase.from('devices');
  }

  async create(device: NewDevice): Promise<DeviceRecord> {
    const { data, error } = await this.devices
      .insert({
        customer_id: device.customerId,
        name: device.name,
        serial: device.serial,
        secret_hash: device.secretHash,
      })
      .select()
      .single<DeviceRow>();
    if (error) {
      if (error.code === UNIQUE_VIOLATION && device.serial !== null) {
        throw new DeviceSerialTakenError(device.serial);
      }
      throw failureFrom(error);
    }
    return toDeviceRecord(data);
  }

  async findById(id: string): Promise<DeviceRecord | null> {
    if (!isUuid(id)) return null;
    const { data, error } = await this.devices.select('*').eq('id', id).retry(false).maybeSingle<DeviceRow>();
    if (error) throw failureFrom(error);
    return data ? toDeviceRecord(data) : null;
  }

  async list(query: DeviceListQuery): Promise<Page<DeviceRecord>> {
    let request = this.devices.select('*').neq('status', 'revoked');
    if (query.customerId !== undefined) request = request.eq('customer_id', query.customerId);
    if (query.presenceStates !== undefined) request = request.in('presence_state', [...query.presenceStates]);
    const { data, error } = await keysetPage(request, query.cursor, query.limit)
      .retry(false)
      .overrideTypes<DeviceRow[], { merge: false }>();
    if (error) throw failureFrom(error);
    return toPage(data.map(toDeviceRecord), query.limit);
  }

  async listByPresence(
    states: readonly PresenceState[],
    page: { afterId?: string; limit: number },
  ): Promise<DeviceRecord[]> {
    if (states.length === 0) return [];
    let request = this.devices
      .select('*')
      .neq('status', 'revoked')
      .in('presence_state', [...states]);
    if (page.afterId !== undefined) request = request.gt('id', page.afterId);
    const { data, error } = await request
      .order('id', { ascending: true })
      .limit(page.limit)
      .retry(false)
      .overrideTypes<DeviceRow[], { merge: false }>();
    if (error) throw failureFrom(error);
    return data.map(toDeviceRecord);
  }

  async countByPresence(): Promise<Record<PresenceState, number>> {
    return presenceCountsOf(
      await callFunction<{ presence_state: string; devices: number }[]>(
        this.supabase,
        'count_devices_by_presence',
        {},
      ),
    );
  }

  async update(id: string, changes: DeviceChanges): Promise<DeviceRecord | null> {
    if (!isUuid(id)) return null;
    const row: Record<string, unknown> = Object.fromEntries(deviceChangesToColumns(changes));
    row.updated_at = new Date().toISOString();
    const { data, error } = await this.devices
      .update(row)
      .eq('id', id)
      .neq('status', 'revoked')
      .select()
      .maybeSingle<DeviceRow>();
    if (error) throw failureFrom(error);
    return data ? toDeviceRecord(data) : null;
  }

  /** One call of the record_device_signs function (migration 20261202000000), whatever the batch's size. */
  async recordSigns(signs: readonly HeartbeatSign[]): Promise<void> {
    const rows = signRowsOf(signs);
    if (rows.length === 0) return;
    const { error } = await this.supabase.rpc('record_device_signs', { signs: rows }).retry(false);
    if (error) throw failureFrom(error);
  }

  async revoke(id: string): Promise<DeviceRecord | null> {
    if (!isUuid(id)) return null;
    const now = new Date().toISOString();
    const { data, error } = await this.devices
      .update({ status: 'revoked', revoked_at: now, updated_at: now })
      .eq('id', id)
      .neq('status', 'revoked')
      .select()
      .maybeSingle<DeviceRow>();
    if (error) throw failureFrom(error);
    return data ? toDeviceRecord(data) : null;
  }
}

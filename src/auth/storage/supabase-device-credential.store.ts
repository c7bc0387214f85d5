import { Injectable } from '@nestjs/common';
import { type SupabaseClient } from '@supabase/supabase-js';
import { isUuid } from '../../common/uuid';
import { failureFrom } from '../../infra/database/supabase/postgrest-error';
import { InjectSupabase } from '../../infra/supabase/supabase-client.provider';
import { DeviceCredentialStore, type StoredDeviceCredential } from '../device-credential.store';

interface CredentialRow {
  customer_id: string;
  status: string;
  secret_hash: string;
}

@Injectable()
export class SupabaseDeviceCredentialStore extends DeviceCredentialStore {
  constructor(@InjectSupabase() private readonly supabase: SupabaseClient) {
    super();
  }

  async find(deviceId: string): Promise<StoredDeviceCredential | null> {
    if (!isUuid(deviceId)) return null;
    const { data, error } = await this.supabase
      .from('devices')
      .select('customer_id, status, secret_hash')
      .eq('id', deviceId)
      .retry(false)
      .maybeSingle<CredentialRow>();
    if (error) throw failureFrom(error);
    return data
      ? { customerId: data.customer_id, revoked: data.status === 'revoked', secretHash: data.secret_hash }
      : null;
  }

  async listRevokedSince(since: Date, limit: number): Promise<string[]> {
    const { data, error } = await this.supabase
      .from('devices')
      .select('id')
      .eq('status', 'revoked')
      .gte('revoked_at', since.toISOString())
      .order('revoked_at', { ascending: true })
      .order('id', { ascending: true })
      .limit(limit)
      .retry(false)
      .overrideTypes<{ id: string }[], { merge: false }>();
    if (error) throw failureFrom(error);
    return data.map((row) => row.id);
  }
}

import { Injectable } from '@nestjs/common';
import { type SupabaseClient } from '@supabase/supabase-js';
import { InjectSupabase } from '../../supabase/supabase-client.provider';
import { DataHealth } from '../data-health';
import { failureFrom } from './postgrest-error';

@Injectable()
export class SupabaseDataHealth extends DataHealth {
  constructor(@InjectSupabase() private readonly supabase: SupabaseClient) {
    super();
  }

  /** A HEAD-style count-free read through PostgREST proves the API, the key and the schema all work. */
  async check(): Promise<void> {
    const { error } = await this.supabase.from('devices').select('id').limit(1).retry(false);
    if (error) throw failureFrom(error);
  }
}

import { type SupabaseClient } from '@supabase/supabase-js';
import { failureFrom, type PostgrestFailure } from './postgrest-error';

/**
 * Calls one of the migrations' SQL functions through PostgREST (`rpc`), as the SQL adapters call it
 * directly. The client carries no generated schema types, so the caller states what the function returns.
 */
export async function callFunction<Result>(
  supabase: SupabaseClient,
  name: string,
  args: Record<string, unknown>,
): Promise<Result> {
  const response: { data: unknown; error: PostgrestFailure | null } = await supabase.rpc(name, args);
  if (response.error) throw failureFrom(response.error);
  return response.data as Result;
}

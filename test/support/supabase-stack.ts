import { type AppConfig } from '../../src/config/app-config';
import { startPostgrest, type PostgrestServer } from './postgrest';
import { startSupabaseFront, type SupabaseFront } from './supabase-front';
import { testConfig } from './test-config';
import { createTestDatabase, type TestDatabase } from './test-database';
import {
  createTestSigningKeys,
  type CustomerToken,
  type CustomerTokenClaims,
  mintCustomerAccessToken,
  mintServiceRoleKey,
  type TestSigningKeys,
} from './tokens';

/**
 * A local "Supabase project" without Docker: a fresh migrated database, the real PostgREST, and a front
 * serving both under one URL. Everything a gateway in DATA_BACKEND=supabase mode talks to.
 */
export interface SupabaseStack {
  /** SUPABASE_URL: the front, under which /rest/v1 and /auth/v1 live. */
  url: string;
  serviceRoleKey: string;
  keys: TestSigningKeys;
  database: TestDatabase;
  postgrest: PostgrestServer;
  front: SupabaseFront;
  /** An access token for a customer, as Supabase Auth would issue it for this project. */
  mintCustomerToken(claims?: CustomerTokenClaims): Promise<CustomerToken>;
  /** A validated gateway configuration pointing at this stack; `env` adds or overrides variables. */
  appConfig(env?: Record<string, string>): AppConfig;
  /** Stops everything it started, each step even when an earlier one failed. */
  stop(): Promise<void>;
}

/** Runs every cleanup step, even after one fails, so that one failure does not leak the rest. */
async function runAll(steps: (() => Promise<void>)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, 'Stopping the Supabase stack failed');
}

export async function startSupabaseStack(): Promise<SupabaseStack> {
  const keys = await createTestSigningKeys();
  const serviceRoleKey = await mintServiceRoleKey(keys);
  const database = await createTestDatabase();
  const cleanups: (() => Promise<void>)[] = [() => database.drop()];
  const stopAll = () => runAll([...cleanups].reverse());
  try {
    const postgrest = await startPostgrest({ databaseName: database.name, jwks: keys.postgrestJwks });
    cleanups.push(() => postgrest.stop());
    const front = await startSupabaseFront({ postgrestUrl: postgrest.url, jwks: keys.publicJwks });
    cleanups.push(() => front.stop());
    return {
      url: front.url,
      serviceRoleKey,
      keys,
      database,
      postgrest,
      front,
      mintCustomerToken: (claims) => mintCustomerAccessToken(keys, front.url, claims),
      appConfig: (env = {}) =>
        testConfig({
          DATA_BACKEND: 'supabase',
          SUPABASE_URL: front.url,
          SUPABASE_SERVICE_ROLE_KEY: serviceRoleKey,
          ...env,
        }),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { migrate, readMigrations } from '../../src/infra/database/migrator';
import { PgPoolExecutor } from '../../src/infra/database/sql/pg-pool.executor';
import { testConfig } from '../support/test-config';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const REPOSITORY_ROOT = join(__dirname, '..', '..');
const SUPABASE_CLI = join(REPOSITORY_ROOT, 'node_modules', '.bin', 'supabase');
const GATEWAY_TABLES = ['audit_events', 'commands', 'devices', 'diagnostic_sessions', 'remediation_plans'];

const run = promisify(execFile);

/** `supabase db push`, exactly as a user applies the migrations to their project's database. */
async function supabaseDbPush(database: TestDatabase): Promise<string> {
  const { stdout, stderr } = await run(
    SUPABASE_CLI,
    ['db', 'push', '--db-url', `${database.url}?sslmode=disable`, '--yes', '--workdir', REPOSITORY_ROOT],
    { timeout: 60_000 },
  );
  return `${stdout}\n${stderr}`;
}

describe('migrations applied by the Supabase CLI', () => {
  let database: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    // Only what a Supabase project has before its first migration: roles, the auth schema.
    database = await createTestDatabase({ migrate: false });
    client = new Client({ connectionString: database.url });
    await client.connect();
  });

  afterAll(async () => {
    await (client as Client | undefined)?.end();
    await (database as TestDatabase | undefined)?.drop();
  });

  async function appliedVersions(): Promise<string[]> {
    const { rows } = await client.query<{ version: string }>(
      'select version from supabase_migrations.schema_migrations order by version',
    );
    return rows.map((row) => row.version);
  }

  it('creates every table with row level security enabled', async () => {
    await supabaseDbPush(database);

    const { rows } = await client.query<{ relname: string; relrowsecurity: boolean }>(
      `select c.relname, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind = 'r' order by c.relname`,
    );
    expect(rows).toEqual(GATEWAY_TABLES.map((relname) => ({ relname, relrowsecurity: true })));
    expect(await appliedVersions()).toEqual(readMigrations().map((migration) => migration.version));
  });

  it('applies nothing on a second push', async () => {
    const before = await appliedVersions();
    await client.query(
      `insert into public.devices (customer_id, name, secret_hash) values (gen_random_uuid(), 'kept', 'hash')`,
    );

    const output = await supabaseDbPush(database);

    expect(output).toContain('Remote database is up to date');
    expect(await appliedVersions()).toEqual(before);
    const { rows } = await client.query<{ count: string }>('select count(*) from public.devices');
    expect(rows[0]!.count).toBe('1');
  });

  it("leaves nothing for the gateway's own migrate(): both tools share one history", async () => {
    const executor = PgPoolExecutor.fromConfig(
      testConfig({ DATA_BACKEND: 'postgres', DATABASE_URL: database.url }),
    );
    try {
      await expect(migrate(executor)).resolves.toEqual([]);
    } finally {
      await executor.onApplicationShutdown();
    }
  });
});

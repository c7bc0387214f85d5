import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readMigrations } from '../../src/infra/database/migrator';
import { assertBuilt, BARE_ENV, ROOT } from '../support/built-gateway';
import { findFreePort } from '../support/free-port';
import {
  basic,
  bearer,
  type GatewayInstance,
  request,
  startGatewayInstance,
} from '../support/gateway-instance';
import { LOCAL_REDIS_URL, localDatabaseUrl } from '../support/local-services';
import { testConfig } from '../support/test-config';
import {
  createEmptyTestDatabase,
  createTestDatabase,
  queryDatabase,
  type TestDatabase,
  whileNoOtherBootstrap,
} from '../support/test-database';

const DB_MIGRATE = join(ROOT, 'dist', 'cli', 'db-migrate.js');
const DEV_TOKEN = join(ROOT, 'dist', 'cli', 'dev-token.js');
const JWT_SECRET = 'a-local-cluster-jwt-secret-0123456789abcdef';
const SUPABASE_URL = 'http://127.0.0.1:9';

const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function runCli(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, [script, ...args], {
      env: { ...BARE_ENV, ...env },
      timeout: 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Creating roles and granting on them races with other files' bootstraps, so the tool takes its turn. */
const migrateDatabase = (args: string[]): Promise<Outcome> =>
  whileNoOtherBootstrap(() => runCli(DB_MIGRATE, args));

async function appliedVersions(database: TestDatabase): Promise<string[]> {
  const { rows } = await queryDatabase<{ version: string }>(
    database.url,
    'select version from supabase_migrations.schema_migrations order by version',
    [],
  );
  return rows.map((row) => row.version);
}

/** Tables, columns and functions of the gateway's schemas: what a second run must leave as it is. */
async function schemaOutline(database: TestDatabase): Promise<string[]> {
  const { rows } = await queryDatabase<{ item: string }>(
    database.url,
    `select table_schema || '.' || table_name || '.' || column_name || ':' || data_type as item
       from information_schema.columns where table_schema in ('public', 'auth', 'supabase_migrations')
     union all
     select n.nspname || '.' || p.proname || '()' from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname in ('public', 'auth')
     order by 1`,
    [],
  );
  return rows.map((row) => row.item);
}

describe('npm run db:migrate', () => {
  const versions = readMigrations().map((migration) => migration.version);
  const databases: TestDatabase[] = [];

  beforeAll(() => {
    assertBuilt();
  });

  afterAll(async () => {
    await Promise.all(databases.map((database) => database.drop()));
  });

  async function emptyDatabase(): Promise<TestDatabase> {
    const database = await createEmptyTestDatabase();
    databases.push(database);
    return database;
  }

  it('prints its usage for --help and exits 0', async () => {
    const outcome = await runCli(DB_MIGRATE, ['--help']);

    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('Usage: npm run db:migrate');
    expect(outcome.stdout).toContain('--supabase');
  });

  it('refuses an unknown option with the usage, and a missing database with what to give', async () => {
    const unknown = await runCli(DB_MIGRATE, ['--databse-url', 'x']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Usage: npm run db:migrate');

    const missing = await runCli(DB_MIGRATE, []);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--database-url or DATABASE_URL');
  });

  describe('on a new, empty PostgreSQL database', () => {
    let database: TestDatabase;
    let first: Outcome;
    let outlineAfterFirst: string[];
    const instances: GatewayInstance[] = [];

    beforeAll(async () => {
      database = await emptyDatabase();
      // Trust authentication ignores the password; the tool must still not print it.
      const withPassword = database.url.replace('postgres@', 'postgres:not-to-be-printed@');
      first = await migrateDatabase(['--database-url', withPassword]);
      outlineAfterFirst = await schemaOutline(database);
    }, 120_000);

    afterAll(async () => {
      await Promise.all(instances.map((instance) => instance.close()));
    });

    it('creates the roles and auth schema the migrations need, then applies every migration', async () => {
      expect(first).toMatchObject({ code: 0 });
      expect(first.stdout).toContain(`Applied ${versions.length} of ${versions.length} migrations`);
      expect(first.stdout).toContain('postgres:***@');
      expect(`${first.stdout}${first.stderr}`).not.toContain('not-to-be-printed');
      expect(await appliedVersions(database)).toEqual(versions);
      expect(outlineAfterFirst).toEqual(
        expect.arrayContaining(['auth.uid()', 'public.devices.id:uuid', 'public.record_device_signs()']),
      );
    });

    it('changes nothing when run again, and says so', async () => {
      const second = await migrateDatabase(['--database-url', database.url]);

      expect(second.code).toBe(0);
      expect(second.stdout).toContain('nothing to apply');
      expect(await appliedVersions(database)).toEqual(versions);
      expect(await schemaOutline(database)).toEqual(outlineAfterFirst);
    });

    it('gives two postgres + redis instances a schema they serve on, with a dev:token the cluster accepts', async () => {
      const env = {
        DATA_BACKEND: 'postgres',
        DATABASE_URL: database.url,
        CACHE_BACKEND: 'redis',
        REDIS_URL: LOCAL_REDIS_URL,
        REDIS_KEY_PREFIX: `test:db-migrate:${randomUUID()}:`,
        SUPABASE_URL,
        SUPABASE_JWT_SECRET: JWT_SECRET,
        DEVICE_SECRET_PEPPER: 'test-pepper-0123456789abcdef0123456789abcdef',
        LOG_LEVEL: 'silent',
      };
      instances.push(await startGatewayInstance(testConfig(env)));
      instances.push(await startGatewayInstance(testConfig(env)));
      const [a, b] = instances as [GatewayInstance, GatewayInstance];
      const minted = await runCli(DEV_TOKEN, ['--sub', randomUUID()], env);
      expect(minted).toMatchObject({ code: 0 });
      const token = minted.stdout.trim();

      const created = await request<{ credentials: { deviceId: string; secret: string } }>(
        `${a.url}/v1/devices`,
        {
          method: 'POST',
          authorization: bearer(token),
          body: { name: 'migrated' },
        },
      );
      expect(created.status).toBe(201);
      const { deviceId, secret } = created.body.credentials;
      const registered = await request(`${b.url}/v1/agent/register`, {
        method: 'POST',
        authorization: basic(deviceId, secret),
        body: { agentVersion: '1.0.0', capabilities: ['ping'] },
      });
      expect(registered.status).toBe(200);
      const read = await request<{ status: string }>(`${b.url}/v1/devices/${deviceId}`, {
        authorization: bearer(token),
      });
      expect(read).toMatchObject({ status: 200, body: { status: 'active' } });
    });
  });

  it('applies nothing to a database a newer gateway migrated, and says why', async () => {
    const database = await createTestDatabase();
    databases.push(database);
    await queryDatabase(
      database.url,
      `insert into supabase_migrations.schema_migrations (version, name, statements)
       values ('29991231000000', 'from_the_future', '{}')`,
      [],
    );
    const before = await schemaOutline(database);

    const outcome = await migrateDatabase(['--database-url', database.url]);

    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain('29991231000000');
    expect(outcome.stderr).toContain('newer gateway');
    expect(await schemaOutline(database)).toEqual(before);
  });

  it('explains a server without TLS, a missing database, an unknown role and nothing listening', async () => {
    const database = await emptyDatabase();

    const tls = await runCli(DB_MIGRATE, ['--database-url', `${database.url}?sslmode=require`]);
    expect(tls.code).toBe(1);
    expect(tls.stderr).toContain('sslmode=disable');

    const missing = await runCli(DB_MIGRATE, [
      '--database-url',
      localDatabaseUrl(`${database.name}_missing`),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/database .* does not exist/);

    const role = await runCli(DB_MIGRATE, [
      '--database-url',
      localDatabaseUrl(database.name, 'no_such_role'),
    ]);
    expect(role.code).toBe(1);
    expect(role.stderr).toContain('refused the credentials of no_such_role');

    const port = await findFreePort();
    const nobody = await runCli(DB_MIGRATE, ['--database-url', `postgresql://postgres@127.0.0.1:${port}/x`]);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain(`Nothing accepts connections at 127.0.0.1:${port}`);

    expect(
      await queryDatabase(database.url, 'select 1 from pg_namespace where nspname = $1', ['auth']),
    ).toEqual({
      rows: [],
    });
  });

  it('applies the migrations to a Supabase database through the Supabase CLI with --supabase', async () => {
    // What a Supabase project has before its first migration: its roles and its auth schema.
    const database = await createTestDatabase({ migrate: false });
    databases.push(database);

    // With a password, which goes to the CLI in its environment rather than on its command line.
    const url = `${database.url.replace('postgres@', 'postgres:a-password@')}?sslmode=disable`;
    const outcome = await runCli(DB_MIGRATE, ['--supabase', '--database-url', url]);

    expect(outcome.code).toBe(0);
    expect(await appliedVersions(database)).toEqual(versions);
  });
});

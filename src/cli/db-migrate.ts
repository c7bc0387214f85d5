/**
 * `npm run db:migrate`: brings a database to the gateway's schema, for the postgres and supabase running
 * modes (the embedded one migrates itself at start-up). See USAGE.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCli } from './run-cli';
import { databaseUrlFromEnvironment, environmentWith } from '../config/environment';
import { Client, Pool } from 'pg';
import { DependencyUnavailableError } from '../common/errors/common.errors';
import { DatabaseAheadError, migrate, MIGRATIONS_DIR, readMigrations } from '../infra/database/migrator';
import { PgPoolExecutor } from '../infra/database/sql/pg-pool.executor';

const USAGE = `Usage: npm run db:migrate -- [--database-url <postgresql://…>] [--supabase]

Brings the database to the gateway's current schema. Running it again changes nothing.

  --database-url <url>  the database (default: DATABASE_URL from the environment)
  --supabase            a Supabase project's database: the migrations are applied by the Supabase CLI
                        (supabase db push), as Supabase users apply them. Without it, the database is a
                        plain PostgreSQL: the roles and the auth schema the migrations rely on are created
                        where they are missing, then every migration not yet applied runs in its own
                        transaction, recorded where the Supabase CLI records them.
  -h, --help            this text

Exits 1 with the reason when the database cannot be reached, refuses the credentials or TLS settings, or
was migrated by a newer gateway (nothing is applied then).`;

const REPOSITORY_ROOT = join(__dirname, '..', '..');
const SUPABASE_CLI = join(REPOSITORY_ROOT, 'node_modules', '.bin', 'supabase');
/** Two runs at once (a deployment job retried) take turns; the key names this tool. */
const MIGRATE_LOCK_KEY = 0x6e64_6d69_6772; // "ndmigr"
/** Migrations can take a while on a large table; connecting should not. */
const CONNECT_TIMEOUT_MS = 10_000;
const STATEMENT_TIMEOUT_MS = 10 * 60_000;

/** A failure the user can act on: printed as it is, without a stack. */
class MigrateError extends Error {}

function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    throw new MigrateError(
      'The database URL is not a URL: expected postgresql://user:password@host:port/database',
    );
  }
}

/** What a connection failure means for someone running this by hand, and what to do about it. */
function explainConnectionFailure(error: unknown, url: string): MigrateError {
  const cause = error instanceof DependencyUnavailableError && error.cause ? error.cause : error;
  const { code, message } = cause as { code?: string; message?: string };
  const parsed = new URL(url);
  const where = `${parsed.hostname}:${parsed.port || '5432'}`;
  const user = decodeURIComponent(parsed.username) || 'the default user';
  const database = decodeURIComponent(parsed.pathname.slice(1)) || 'the default database';
  const text = message ?? String(cause);
  if (code === 'ECONNREFUSED') {
    return new MigrateError(`Nothing accepts connections at ${where}: is PostgreSQL running there?`);
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new MigrateError(`The host ${parsed.hostname} is not known (${text})`);
  }
  if (/does not support SSL/i.test(text)) {
    return new MigrateError(
      `The server at ${where} does not accept TLS, but the URL asks for it: add ?sslmode=disable to the URL, or enable TLS on the server`,
    );
  }
  if (/certificate|self[- ]signed/i.test(text)) {
    return new MigrateError(
      `The TLS certificate of ${where} is not trusted (${text}): give the CA with sslrootcert=<file> in the URL, or sslmode=no-verify to encrypt without checking it`,
    );
  }
  if (/no pg_hba\.conf entry/i.test(text) && /SSL off|no encryption/i.test(text)) {
    return new MigrateError(
      `${where} accepts only TLS connections (${text}): add ?sslmode=require to the URL`,
    );
  }
  if (code === '28P01' || code === '28000') {
    return new MigrateError(`PostgreSQL refused the credentials of ${user}: ${text}`);
  }
  if (code === '3D000') {
    return new MigrateError(`The database ${database} does not exist on ${where}: create it first (${text})`);
  }
  return new MigrateError(`Could not connect to ${redacted(url)}: ${text}`);
}

async function checkConnection(url: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // A server that drops the connection later emits here; the migration's own queries report it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const supabase = await client.query("select 1 from pg_roles where rolname = 'supabase_admin'");
    if (supabase.rowCount) {
      throw new MigrateError(
        'This is a Supabase database, whose auth schema belongs to Supabase: run with --supabase',
      );
    }
  } catch (error) {
    throw error instanceof MigrateError ? error : explainConnectionFailure(error, url);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function migratePlainPostgres(url: string): Promise<void> {
  await checkConnection(url);
  // One connection, so that the advisory lock and the migrations share a session.
  const pool = new Pool({
    connectionString: url,
    max: 1,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'netdiag-db-migrate',
  });
  const executor = new PgPoolExecutor(pool, STATEMENT_TIMEOUT_MS);
  try {
    await executor.query('select pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    const applied = await migrate(executor);
    const total = readMigrations().length;
    process.stdout.write(
      applied.length === 0
        ? `${redacted(url)} is at the current schema (${total} migrations); nothing to apply\n`
        : `Applied ${applied.length} of ${total} migrations to ${redacted(url)}: ${applied.join(', ')}\n`,
    );
  } catch (error) {
    if (error instanceof DatabaseAheadError) throw new MigrateError(error.message);
    if (error instanceof DependencyUnavailableError) throw explainConnectionFailure(error, url);
    throw error;
  } finally {
    await pool.end();
  }
}

/** `supabase db push`, run from the repository so that it finds supabase/migrations. */
async function pushWithSupabaseCli(url: string): Promise<void> {
  if (!existsSync(SUPABASE_CLI)) {
    throw new MigrateError(
      `The Supabase CLI is not installed (${SUPABASE_CLI}; it is a development dependency): run npm ci, or apply ${MIGRATIONS_DIR} with your own \`supabase db push\``,
    );
  }
  const code = await new Promise<number | null>((resolve, reject) => {
    // The password goes in the child's environment, not on its command line, which every local user can
    // read (ps, /proc); the CLI's PostgreSQL driver reads PGPASSWORD when the URL has none.
    const withoutPassword = new URL(url);
    const password = decodeURIComponent(withoutPassword.password);
    withoutPassword.password = '';
    const child = spawn(
      SUPABASE_CLI,
      ['db', 'push', '--db-url', withoutPassword.toString(), '--yes', '--workdir', REPOSITORY_ROOT],
      {
        stdio: 'inherit',
        env: environmentWith(password === '' ? {} : { PGPASSWORD: password }),
      },
    );
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0)
    throw new MigrateError(`supabase db push failed (exit ${String(code)}); its output is above`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'database-url': { type: 'string' },
      supabase: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const url = values['database-url'] ?? databaseUrlFromEnvironment();
  if (!url) throw new MigrateError(`Name the database with --database-url or DATABASE_URL\n\n${USAGE}`);
  redacted(url);
  await (values.supabase ? pushWithSupabaseCli(url) : migratePlainPostgres(url));
}

runCli(USAGE, main);

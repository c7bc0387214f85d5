import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { testConfig } from './test-config';
import { migrate, SUPABASE_COMPAT_SQL_PATH } from '../../src/infra/database/migrator';
import { PgPoolExecutor } from '../../src/infra/database/sql/pg-pool.executor';
import { localDatabaseUrl } from './local-services';

export interface TestDatabase {
  name: string;
  /** postgresql:// URL for the superuser; use `localDatabaseUrl(name, role)` to connect as another role. */
  url: string;
  /** Ends every connection still open to it, then drops it. */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /**
   * true (default): the gateway's whole schema, applied by its own migrate(). false: only what a Supabase
   * project provides before any migration runs (compat bootstrap), for suites that apply migrations themselves.
   */
  migrate?: boolean;
}

const AUTHENTICATOR_SQL_PATH = join(__dirname, 'sql', 'authenticator.sql');

/**
 * Roles belong to the whole cluster, and two sessions running `create role` or `grant` on one role at once
 * fail with a unique or "tuple concurrently updated" error. Parallel jest workers therefore take this lock
 * before bootstrapping. Advisory locks are per database, so it is taken in the shared `postgres` database.
 */
const ROLE_BOOTSTRAP_LOCK_KEY = 0x6e6574646961; // "netdia"

function uniqueDatabaseName(): string {
  return `gw_test_${process.pid}_${randomBytes(4).toString('hex')}`;
}

async function withAdminClient<T>(work: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: localDatabaseUrl('postgres') });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

async function bootstrap(name: string, url: string, applyMigrations: boolean): Promise<void> {
  await withAdminClient(async (admin) => {
    await admin.query('select pg_advisory_lock($1)', [ROLE_BOOTSTRAP_LOCK_KEY]);
    const executor = PgPoolExecutor.fromConfig(testConfig({ DATA_BACKEND: 'postgres', DATABASE_URL: url }));
    try {
      if (applyMigrations) {
        await migrate(executor);
      } else {
        await executor.exec(readFileSync(SUPABASE_COMPAT_SQL_PATH, 'utf8'));
      }
      await executor.exec(readFileSync(AUTHENTICATOR_SQL_PATH, 'utf8'));
    } catch (error) {
      throw new Error(`Could not prepare test database ${name}: ${String(error)}`, { cause: error });
    } finally {
      await executor.onApplicationShutdown();
      await admin.query('select pg_advisory_unlock($1)', [ROLE_BOOTSTRAP_LOCK_KEY]);
    }
  });
}

async function dropDatabase(name: string): Promise<void> {
  // WITH (FORCE) terminates the sessions still connected (a pool not yet ended, PostgREST) first.
  await withAdminClient((admin) => admin.query(`drop database if exists "${name}" with (force)`));
}

/** A fresh, uniquely named database on the local PostgreSQL, so test files can run in parallel. */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const name = uniqueDatabaseName();
  const url = localDatabaseUrl(name);
  await withAdminClient((admin) => admin.query(`create database "${name}"`));
  try {
    await bootstrap(name, url, options.migrate ?? true);
  } catch (error) {
    await dropDatabase(name);
    throw error;
  }
  return { name, url, drop: () => dropDatabase(name) };
}

/** A database with nothing in it, as a new PostgreSQL server has, for a tool that sets it up itself. */
export async function createEmptyTestDatabase(): Promise<TestDatabase> {
  const name = uniqueDatabaseName();
  await withAdminClient((admin) => admin.query(`create database "${name}"`));
  return { name, url: localDatabaseUrl(name), drop: () => dropDatabase(name) };
}

/**
 * Runs `work` (a tool that creates roles or grants on them) while no other test file bootstraps a
 * database: see ROLE_BOOTSTRAP_LOCK_KEY.
 */
export async function whileNoOtherBootstrap<T>(work: () => Promise<T>): Promise<T> {
  return withAdminClient(async (admin) => {
    await admin.query('select pg_advisory_lock($1)', [ROLE_BOOTSTRAP_LOCK_KEY]);
    try {
      return await work();
    } finally {
      await admin.query('select pg_advisory_unlock($1)', [ROLE_BOOTSTRAP_LOCK_KEY]);
    }
  });
}

/** Reads or writes the database directly, as an operator would, to check what the gateway stored. */
export async function queryDatabase<Row>(
  url: string,
  text: string,
  params: unknown[],
): Promise<{ rows: Row[] }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(text, params);
    return { rows: result.rows as Row[] };
  } finally {
    await client.end();
  }
}

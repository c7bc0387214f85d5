import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type SqlExecutor } from './sql/sql-executor';

/** Where `supabase db push` keeps its history; sharing it keeps both tools in agreement. */
const HISTORY_TABLE = 'supabase_migrations.schema_migrations';

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

/** The repository's supabase/migrations folder, from src/ (tests) and from dist/ (built) alike. */
export const MIGRATIONS_DIR = join(__dirname, '..', '..', '..', 'supabase', 'migrations');

export const SUPABASE_COMPAT_SQL_PATH = join(__dirname, 'sql', 'supabase-compat.sql');

export function readMigrations(directory = MIGRATIONS_DIR): Migration[] {
  return readdirSync(directory)
    .filter((file) => /^\d+_.+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const match = /^(\d+)_(.+)\.sql$/.exec(file);
      if (!match?.[1] || !match[2]) throw new Error(`Unexpected migration file name ${file}`);
      return { version: match[1], name: match[2], sql: readFileSync(join(directory, file), 'utf8') };
    });
}

/**
 * The database records migrations this code does not have: a newer gateway migrated it. Applying the
 * older schema's missing pieces on top would mix two versions, so nothing is applied.
 */
export class DatabaseAheadError extends Error {
  constructor(readonly unknownVersions: readonly string[]) {
    super(
      `The database has migrations this gateway does not know (${unknownVersions.join(', ')}): a newer ` +
        'gateway migrated it. Run the newer version, or restore a database of this version.',
    );
    this.name = 'DatabaseAheadError';
  }
}

/**
 * Brings a plain PostgreSQL (embedded PGlite, or a test database) to the schema a Supabase project gets:
 * first what Supabase itself provides (roles, auth schema), then every migration not yet applied, each in
 * its own transaction, recorded where the Supabase CLI records them. A script sent as one simple query runs
 * as one implicit transaction, so a migration and its history row land together or not at all. Throws
 * DatabaseAheadError, applying nothing, when the history names a migration `migrations` lacks.
 */
export async function migrate(executor: SqlExecutor, migrations = readMigrations()): Promise<string[]> {
  await executor.exec(readFileSync(SUPABASE_COMPAT_SQL_PATH, 'utf8'));
  await executor.exec(`
    create schema if not exists supabase_migrations;
    create table if not exists ${HISTORY_TABLE} (version text primary key, statements text[], name text);
  `);
  const appliedRows = await executor.query<{ version: string }>(`select version from ${HISTORY_TABLE}`);
  const applied = new Set(appliedRows.map((row) => row.version));
  const known = new Set(migrations.map((migration) => migration.version));
  const unknown = [...applied].filter((version) => !known.has(version)).sort();
  if (unknown.length > 0) throw new DatabaseAheadError(unknown);
  const newlyApplied: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    const record = `insert into ${HISTORY_TABLE} (version, name, statements) values ('${migration.version}', '${migration.name.replaceAll("'", "''")}', '{}');`;
    await executor.exec(`${migration.sql}\n;\n${record}`);
    newlyApplied.push(migration.version);
  }
  return newlyApplied;
}

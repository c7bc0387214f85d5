/**
 * The little the SQL repositories need from a PostgreSQL connection. Implemented by a `pg` pool
 * (DATA_BACKEND=postgres) and by PGlite (DATA_BACKEND=embedded), so one set of SQL serves both.
 */
export abstract class SqlExecutor {
  abstract query<Row extends object>(text: string, params?: readonly unknown[]): Promise<Row[]>;

  /** Runs a script of several statements (migrations). */
  abstract exec(script: string): Promise<void>;
}

/** SQLSTATE of a unique-constraint violation. */
export const UNIQUE_VIOLATION = '23505';

export function sqlStateOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    return typeof error.code === 'string' ? error.code : undefined;
  }
  return undefined;
}

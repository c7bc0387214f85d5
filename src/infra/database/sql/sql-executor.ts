import { DependencyFailedError } from '../../../common/errors/common.errors';

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

/**
 * Connection failures, timeouts (57014), server shutdowns (57P0x) and resource exhaustion (53xxx) are the
 * database's trouble, answered with 503; any other SQLSTATE is left for the repository to interpret.
 */
export function asDependencyFailure(error: unknown): unknown {
  const state = sqlStateOf(error);
  return state === undefined || /^(08|53|57)/.test(state)
    ? new DependencyFailedError('database', error)
    : error;
}

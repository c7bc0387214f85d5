import { DependencyUnavailableError } from '../../../common/errors/common.errors';
import { type CallFailure, type CallObserver, UNOBSERVED } from '../../metrics/metrics.service';

/**
 * The little the SQL repositories need from a PostgreSQL connection. Implemented by a `pg` pool
 * (DATA_BACKEND=postgres) and by PGlite (DATA_BACKEND=embedded), so one set of SQL serves both.
 */
export abstract class SqlExecutor {
  /** Unobserved until the database module hands it the metrics (command-line tools never do). */
  protected calls: Readonly<Record<'query' | 'script', CallObserver>> = {
    query: UNOBSERVED,
    script: UNOBSERVED,
  };

  observeCalls(observe: (operation: 'query' | 'script') => CallObserver): void {
    this.calls = { query: observe('query'), script: observe('script') };
  }

  abstract query<Row extends object>(text: string, params?: readonly unknown[]): Promise<Row[]>;

  /** Runs a script of several statements (migrations). */
  abstract exec(script: string): Promise<void>;
}

/** SQLSTATE of a unique-constraint violation. */
export const UNIQUE_VIOLATION = '23505';

/**
 * The SQLSTATE of an error the server reported (pg and PGlite alike give those a `severity`). Errors of
 * the connection itself carry a `code` too, but a Node errno (ECONNREFUSED, EPIPE), which is not one.
 */
export function sqlStateOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && 'severity' in error) {
    const { code } = error;
    return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  }
  return undefined;
}

/**
 * Anything that is not a server-reported SQLSTATE is the database's trouble (refused or lost connections,
 * client-side timeouts, a closed PGlite), and so are the SQLSTATE classes connection exception (08),
 * insufficient resources (53), operator intervention (57: cancelled by statement_timeout, shutting
 * down) and system error (58): all answered with 503. Any other SQLSTATE is left for the repository to
 * interpret.
 */
export function asDependencyFailure(error: unknown): unknown {
  if (error instanceof DependencyUnavailableError) return error;
  const state = sqlStateOf(error);
  return state === undefined || /^(08|53|57|58)/.test(state)
    ? new DependencyUnavailableError('database', error)
    : error;
}

/** How a call failed, for its metrics: `failure` is what asDependencyFailure made of the error. */
export function callFailureOf(failure: unknown): CallFailure {
  return failure instanceof DependencyUnavailableError ? 'unavailable' : 'refused';
}

import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { withTimeout } from '../../../common/with-timeout';
import { type AppConfig } from '../../../config/app-config';
import { asDependencyFailure, callFailureOf, SqlExecutor } from './sql-executor';

/**
 * DATA_BACKEND=postgres: a pool of direct connections to DATABASE_URL.
 *
 * A query is bounded as a whole by `timeoutMs`. The pool's own timeouts each bound one step (waiting
 * for or opening a connection, then the query), so together they allowed twice as long; they stay, so
 * that a connection abandoned at the deadline is still released and closed soon after.
 */
export class PgPoolExecutor extends SqlExecutor implements OnApplicationShutdown {
  private readonly logger = new Logger(PgPoolExecutor.name);

  constructor(
    private readonly pool: Pool,
    private readonly timeoutMs: number,
  ) {
    super();
    // An idle client that loses its connection emits here; without a listener it would crash the process.
    pool.on('error', (error) => {
      this.logger.warn(`An idle database connection failed: ${error.message}`);
    });
  }

  static fromConfig(config: AppConfig): PgPoolExecutor {
    return new PgPoolExecutor(
      new Pool({
        connectionString: config.DATABASE_URL,
        max: config.DATABASE_POOL_MAX,
        connectionTimeoutMillis: config.DATABASE_TIMEOUT_MS,
        query_timeout: config.DATABASE_TIMEOUT_MS,
        statement_timeout: config.DATABASE_TIMEOUT_MS,
        application_name: 'netdiag-gateway',
      }),
      config.DATABASE_TIMEOUT_MS,
    );
  }

  async query<Row extends object>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    const started = performance.now();
    try {
      const result = await withTimeout(
        this.pool.query<Row>(text, params as unknown[]),
        this.timeoutMs,
        'The database',
      );
      this.calls.query.settled(started);
      return result.rows;
    } catch (error) {
      const failure = asDependencyFailure(error);
      this.calls.query.settled(started, callFailureOf(failure));
      throw failure;
    }
  }

  async exec(script: string): Promise<void> {
    const started = performance.now();
    try {
      await withTimeout(this.pool.query(script), this.timeoutMs, 'The database');
      this.calls.script.settled(started);
    } catch (error) {
      const failure = asDependencyFailure(error);
      this.calls.script.settled(started, callFailureOf(failure));
      throw failure;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

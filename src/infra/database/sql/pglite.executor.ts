import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { type OnApplicationShutdown } from '@nestjs/common';
import { asDependencyFailure, SqlExecutor } from './sql-executor';

/** DATA_BACKEND=embedded: PostgreSQL compiled to WebAssembly, kept in DATA_DIR across restarts. */
export class PgliteExecutor extends SqlExecutor implements OnApplicationShutdown {
  private constructor(private readonly db: PGlite) {
    super();
  }

  static async open(dataDir: string): Promise<PgliteExecutor> {
    const directory = resolve(dataDir, 'pglite');
    mkdirSync(directory, { recursive: true });
    const db = await PGlite.create(directory);
    return new PgliteExecutor(db);
  }

  async query<Row extends object>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    try {
      const result = await this.db.query<Row>(text, params as unknown[]);
      return result.rows;
    } catch (error) {
      throw asDependencyFailure(error);
    }
  }

  async exec(script: string): Promise<void> {
    try {
      await this.db.exec(script);
    } catch (error) {
      throw asDependencyFailure(error);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}

import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import { type OnApplicationShutdown } from '@nestjs/common';
import { asDependencyFailure, callFailureOf, SqlExecutor } from './sql-executor';

/**
 * The database `npm run build` prepares (src/cli/build-embedded-image.ts): a PGlite data directory with
 * the migrations as of build time. From src/ (tests) and dist/ (built) alike, as the migrations folder.
 */
export const EMBEDDED_IMAGE_DIR = join(__dirname, '..', '..', '..', '..', 'dist', 'embedded-image');

/**
 * PGlite's own start parameters plus a smaller buffer pool. The pool lives in PGlite's WebAssembly heap,
 * which is allocated at start and never shrinks, so PostgreSQL's default pool would stay resident for the
 * life of the process; one gateway's devices and sessions fit a small pool, and the OS caches the rest.
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/** Where the database an executor opened came from, for the start-up log. */
export type EmbeddedDatabaseOrigin = 'existing' | 'image' | 'initdb';

/** DATA_BACKEND=embedded: PostgreSQL compiled to WebAssembly, kept in DATA_DIR across restarts. */
export class PgliteExecutor extends SqlExecutor implements OnApplicationShutdown {
  private constructor(
    private readonly db: PGlite,
    readonly origin: EmbeddedDatabaseOrigin,
  ) {
    super();
  }

  /**
   * Opens the database in DATA_DIR/pglite. A new one is copied from the build's image when there is one:
   * PGlite's initdb would run in this process and leave its WebAssembly heap grown for good.
   */
  static async open(dataDir: string, image = EMBEDDED_IMAGE_DIR): Promise<PgliteExecutor> {
    const directory = resolve(dataDir, 'pglite');
    const origin: EmbeddedDatabaseOrigin = isDatabase(directory)
      ? 'existing'
      : seedFromImage(directory, image)
        ? 'image'
        : 'initdb';
    return PgliteExecutor.openDirectory(directory, origin);
  }

  /** Opens (or initdb's) a PGlite data directory as it is; for building the image itself. */
  static async openDirectory(
    directory: string,
    origin: EmbeddedDatabaseOrigin = isDatabase(directory) ? 'existing' : 'initdb',
  ): Promise<PgliteExecutor> {
    mkdirSync(directory, { recursive: true });
    compileWebAssemblyWithBaselineOnly();
    const db = await PGlite.create(directory, { startParams: START_PARAMS });
    return new PgliteExecutor(db, origin);
  }

  async query<Row extends object>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    const started = performance.now();
    try {
      const result = await this.db.query<Row>(text, params as unknown[]);
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
      await this.db.exec(script);
      this.calls.script.settled(started);
    } catch (error) {
      const failure = asDependencyFailure(error);
      this.calls.script.settled(started, callFailureOf(failure));
      throw failure;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}

/**
 * PostgreSQL's WebAssembly is large, and V8 would recompile its busy functions with its optimising
 * compiler on background threads, whose working memory the C allocator keeps for the life of the
 * process. The baseline compiler's code serves the embedded mode's small queries as well. Set before
 * PGlite compiles its module, it applies to every WebAssembly module compiled from then on (the only
 * other one here is the HTTP parser of Node's fetch, used off the hot paths).
 */
function compileWebAssemblyWithBaselineOnly(): void {
  setFlagsFromString('--liftoff-only');
}

function isDatabase(directory: string): boolean {
  return existsSync(join(directory, 'PG_VERSION'));
}

/**
 * Copies the image into `directory` when it is missing or empty (anything else there is left to PGlite).
 * The copy lands under a staging name first and is renamed into place, so a start interrupted half-way
 * leaves no half database that the next start would take for a real one.
 */
function seedFromImage(directory: string, image: string): boolean {
  if (!isDatabase(image)) return false;
  if (existsSync(directory) && readdirSync(directory).length > 0) return false;
  const staging = `${directory}.seeding`;
  rmSync(staging, { recursive: true, force: true });
  cpSync(image, staging, { recursive: true });
  rmSync(directory, { recursive: true, force: true });
  renameSync(staging, directory);
  return true;
}

import { renameSync, rmSync } from 'node:fs';
import { migrate, type Migration, readMigrations } from './migrator';
import { PgliteExecutor } from './sql/pglite.executor';

/**
 * Prepares the embedded backend's image at `target`: PGlite's initdb, then the migrations as of now.
 * Gateways copy it into a new DATA_DIR and then migrate() it, which applies whatever migrations were
 * added since. Built under a staging name and renamed, so an interrupted build leaves no half image.
 * Returns the migration versions the image holds.
 */
export async function buildEmbeddedImage(
  target: string,
  migrations: Migration[] = readMigrations(),
): Promise<string[]> {
  const staging = `${target}.building`;
  rmSync(staging, { recursive: true, force: true });
  const executor = await PgliteExecutor.openDirectory(staging);
  let applied: string[];
  try {
    applied = await migrate(executor, migrations);
  } finally {
    await executor.onApplicationShutdown();
  }
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  return applied;
}

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEmbeddedImage } from '../../src/infra/database/embedded-image';
import { migrate, type Migration, readMigrations } from '../../src/infra/database/migrator';
import { PgliteExecutor } from '../../src/infra/database/sql/pglite.executor';

/**
 * The image `npm run build` prepares holds the migrations as of build time; a gateway built before a
 * migration was added, or an image older than the migrations folder, must still end up fully migrated.
 */
describe('the embedded database image', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'gateway-image-'));
  const image = join(scratch, 'image');
  const atBuildTime = readMigrations();
  const addedLater: Migration = {
    version: '99991231000000',
    name: 'added_after_the_build',
    sql: 'create table public.added_after_the_build (id integer primary key);',
  };
  const versions = (migrations: Migration[]) => migrations.map((migration) => migration.version);
  const open: PgliteExecutor[] = [];

  async function openDataDir(name: string, from = image): Promise<PgliteExecutor> {
    const executor = await PgliteExecutor.open(join(scratch, name), from);
    open.push(executor);
    return executor;
  }

  async function appliedVersions(executor: PgliteExecutor): Promise<string[]> {
    const rows = await executor.query<{ version: string }>(
      'select version from supabase_migrations.schema_migrations order by version',
    );
    return rows.map((row) => row.version);
  }

  beforeAll(async () => {
    await expect(buildEmbeddedImage(image, atBuildTime)).resolves.toEqual(versions(atBuildTime));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(open.map((executor) => executor.onApplicationShutdown()));
    rmSync(scratch, { recursive: true, force: true });
  });

  it('seeds a new DATA_DIR, and migrate() applies the migrations added since the build', async () => {
    const executor = await openDataDir('new');

    expect(executor.origin).toBe('image');
    expect(await migrate(executor, [...atBuildTime, addedLater])).toEqual([addedLater.version]);
    expect(await appliedVersions(executor)).toEqual(versions([...atBuildTime, addedLater]));
    expect(await executor.query('select count(*)::int as rows from public.added_after_the_build')).toEqual([
      { rows: 0 },
    ]);
  });

  it('is copied, never changed: a second DATA_DIR starts from the build-time migrations again', async () => {
    const executor = await openDataDir('second');

    expect(executor.origin).toBe('image');
    expect(await appliedVersions(executor)).toEqual(versions(atBuildTime));
  });

  it('leaves a DATA_DIR that has a database alone', async () => {
    const first = await openDataDir('reopened');
    await migrate(first, atBuildTime);
    await first.exec(
      "insert into public.devices (customer_id, name, secret_hash) values (gen_random_uuid(), 'kept', 'h')",
    );
    await first.onApplicationShutdown();

    const again = await openDataDir('reopened');

    expect(again.origin).toBe('existing');
    expect(await again.query('select name from public.devices')).toEqual([{ name: 'kept' }]);
  });

  it('replaces what an interrupted copy left behind', async () => {
    const staging = join(scratch, 'interrupted', 'pglite.seeding');
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(staging, 'PG_VERSION'), 'half a copy\n');

    const executor = await openDataDir('interrupted');

    expect(executor.origin).toBe('image');
    expect(await appliedVersions(executor)).toEqual(versions(atBuildTime));
  });

  it('falls back to initdb when there is no image (a build that skipped the step)', async () => {
    const executor = await openDataDir('no-image', join(scratch, 'no-such-image'));

    expect(executor.origin).toBe('initdb');
    expect(await migrate(executor, atBuildTime)).toEqual(versions(atBuildTime));
  }, 60_000);
});

import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { migrate } from '../../src/infra/database/migrator';
import { PgPoolExecutor } from '../../src/infra/database/sql/pg-pool.executor';
import { findFreePort } from './free-port';
import { testConfig } from './test-config';

const run = promisify(execFile);

const AUTHENTICATOR_SQL_PATH = join(__dirname, 'sql', 'authenticator.sql');

/** The newest PostgreSQL the machine has installed (Debian keeps each major in its own folder). */
function postgresBinaries(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((entry) => /^\d+$/.test(entry))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const major = majors[0];
  if (major === undefined) throw new Error(`No PostgreSQL binaries under ${root}`);
  return join(root, major, 'bin');
}

/** initdb refuses to run as root: as root, the cluster belongs to the `postgres` user. */
const AS_POSTGRES = process.getuid?.() === 0;

async function runPostgresTool(tool: string, args: string[]): Promise<void> {
  const binary = join(postgresBinaries(), tool);
  try {
    if (AS_POSTGRES) await run('runuser', ['-u', 'postgres', '--', binary, ...args]);
    else await run(binary, args);
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${stderr ?? ''}${stdout ?? ''}`, { cause: error });
  }
}

/**
 * A PostgreSQL cluster of this test's own (never the shared one on 5432), on a free port, trust auth,
 * so that a test can crash it, freeze it and bring it back under a running gateway.
 */
export class ThrowawayPostgres {
  private running = false;

  private constructor(
    private readonly directory: string,
    readonly port: number,
  ) {}

  /** Creates the cluster (initdb) and starts it. */
  static async create(): Promise<ThrowawayPostgres> {
    const directory = mkdtempSync(join(tmpdir(), 'gateway-pg-'));
    if (AS_POSTGRES) {
      const postgres = await run('id', ['-u', 'postgres']);
      chownSync(directory, Number(postgres.stdout.trim()), -1);
    }
    const cluster = new ThrowawayPostgres(directory, await findFreePort());
    try {
      await runPostgresTool('initdb', ['-D', cluster.dataDir, '-A', 'trust', '-U', 'postgres', '-N']);
      await cluster.start();
    } catch (error) {
      rmSync(directory, { recursive: true, force: true });
      throw error;
    }
    return cluster;
  }

  private get dataDir(): string {
    return join(this.directory, 'data');
  }

  url(database: string, user = 'postgres'): string {
    return `postgresql://${user}@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    await runPostgresTool('pg_ctl', [
      '-D',
      this.dataDir,
      '-o',
      `-p ${this.port} -k ${this.directory} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-l',
      join(this.directory, 'log'),
      '-w',
      'start',
    ]);
    this.running = true;
  }

  /** `-m immediate`: the server dies without a clean shutdown, as in a crash; the next start recovers. */
  async crash(): Promise<void> {
    await runPostgresTool('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
    this.running = false;
  }

  /**
   * Freezes the server and every backend (SIGSTOP): connections are accepted by the kernel but nothing
   * answers, the way a hung or partitioned database behaves. `resume()` thaws them.
   */
  async freeze(): Promise<void> {
    // The postmaster first, so that it forks no backend the list below would miss.
    const postmaster = this.postmasterPid();
    process.kill(postmaster, 'SIGSTOP');
    for (const pid of await this.childrenOf(postmaster)) process.kill(pid, 'SIGSTOP');
  }

  async resume(): Promise<void> {
    const postmaster = this.postmasterPid();
    for (const pid of await this.childrenOf(postmaster)) process.kill(pid, 'SIGCONT');
    process.kill(postmaster, 'SIGCONT');
  }

  /** A new database with the gateway's schema and PostgREST's login role, as createTestDatabase makes. */
  async createDatabase(name: string): Promise<string> {
    const admin = new Client({ connectionString: this.url('postgres') });
    await admin.connect();
    try {
      await admin.query(`create database "${name}"`);
    } finally {
      await admin.end();
    }
    const url = this.url(name);
    const executor = PgPoolExecutor.fromConfig(testConfig({ DATA_BACKEND: 'postgres', DATABASE_URL: url }));
    try {
      await migrate(executor);
      await executor.exec(readFileSync(AUTHENTICATOR_SQL_PATH, 'utf8'));
    } finally {
      await executor.onApplicationShutdown();
    }
    return url;
  }

  /** Stops the server if it runs and removes its files. */
  async destroy(): Promise<void> {
    if (this.running) {
      await this.resume();
      await this.crash();
    }
    rmSync(this.directory, { recursive: true, force: true });
  }

  private postmasterPid(): number {
    return Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  private async childrenOf(pid: number): Promise<number[]> {
    return run('pgrep', ['-P', String(pid)]).then(
      ({ stdout }) => stdout.split('\n').filter(Boolean).map(Number),
      // pgrep exits 1 when it finds nothing.
      () => [],
    );
  }
}

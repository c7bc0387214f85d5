/**
 * `--data-backend postgres`: the gateway on the local PostgreSQL (127.0.0.1:5432, user postgres, trust
 * auth), as deployed with DATA_BACKEND=postgres, instead of the embedded PGlite in its own process. A
 * fresh database per run, its schema applied by the gateway's own migrate(), its devices inserted by the
 * gateway's own repository with the secret hash DeviceCredentialsService computes; dropped at the end.
 */
import 'reflect-metadata';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { migrate } from '../../src/infra/database/migrator';
import { PgPoolExecutor } from '../../src/infra/database/sql/pg-pool.executor';
import { SqlDeviceRepository } from '../../src/devices/storage/sql-device.repository';
import { SqlSessionRepository } from '../../src/sessions/storage/sql-session.repository';
import { type BenchDevice, HOST } from './local';

const databaseUrl = (database: string): string => `postgresql://postgres@${HOST}:5432/${database}`;
/**
 * The test suite's lock (test/support/test-database.ts) around the Supabase compatibility script, which
 * creates and grants cluster-wide roles: two sessions doing that at once fail. Taken in the `postgres`
 * database, where the tests take it, so that a run beside the tests does not break either.
 */
const ROLE_BOOTSTRAP_LOCK_KEY = 0x6e6574646961;

async function withAdminClient<T>(work: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: databaseUrl('postgres'), connectionTimeoutMillis: 5_000 });
  await admin.connect().catch((error: unknown) => {
    throw new Error(
      `PostgreSQL is not reachable at ${HOST}:5432 as postgres (${String(error)}); see bench/README.md`,
    );
  });
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

/** A run's own database on the local PostgreSQL; `drop()` may be called at any point, any number of times. */
export class BenchDatabase {
  readonly name = `bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  readonly url = databaseUrl(this.name);
  /** What the gateway gets as DEVICE_SECRET_PEPPER. */
  readonly pepper = randomBytes(32).toString('base64url');
  /** What the gateway gets as SUPABASE_JWT_SECRET: customer tokens are signed HS256 with it. */
  readonly jwtSecret = randomBytes(32).toString('base64url');
  private created = false;

  /** Creates the database and applies the gateway's schema with its own migrate(). */
  async create(): Promise<void> {
    this.created = true;
    await withAdminClient(async (admin) => {
      await admin.query(`create database "${this.name}"`);
      await admin.query('select pg_advisory_lock($1)', [ROLE_BOOTSTRAP_LOCK_KEY]);
      try {
        await this.withExecutor(2, (executor) => migrate(executor));
      } finally {
        await admin.query('select pg_advisory_unlock($1)', [ROLE_BOOTSTRAP_LOCK_KEY]);
      }
    });
  }

  /**
   * `count` devices of one customer (or of `customers`, in equal consecutive blocks), inserted through the
   * gateway's SqlDeviceRepository, `concurrency` at a time. With `capabilities`, each is then registered as
   * `POST /v1/agent/register` leaves it: active, with those capabilities (what a command type needs).
   */
  async createDevices(
    count: number,
    options: { capabilities?: string[]; concurrency?: number; customers?: number } = {},
  ): Promise<BenchDevice[]> {
    const customerIds = Array.from({ length: options.customers ?? 1 }, () => randomUUID());
    const perCustomer = Math.ceil(count / customerIds.length);
    const concurrency = options.concurrency ?? 1;
    return this.withExecutor(concurrency, async (executor) => {
      const repository = new SqlDeviceRepository(executor);
      const devices = new Array<BenchDevice>(count);
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let index = next++; index < count; index = next++) {
          // As DeviceCredentialsService.generateSecret and hashSecret make them.
          const secret = randomBytes(32).toString('base64url');
          const secretHash = `hmac-sha256$${createHmac('sha256', this.pepper).update(secret).digest('base64url')}`;
          const customerId = customerIds[Math.floor(index / perCustomer)] ?? randomUUID();
          const record = await repository.create({
            customerId,
            name: `bench-${index}`,
            serial: null,
            secretHash,
          });
          const { capabilities } = options;
          if (capabilities)
            await repository.update(record.id, {
              agentVersion: '1.4.2',
              hardware: { model: 'bench' },
              capabilities,
              status: 'active',
              registeredAt: new Date(),
            });
          devices[index] = { deviceId: record.id, secret, customerId };
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return devices;
    });
  }

  /** An open diagnostic session on each device, opened through the gateway's SqlSessionRepository; their ids. */
  async openSessions(devices: readonly BenchDevice[], concurrency = 1): Promise<string[]> {
    return this.withExecutor(concurrency, async (executor) => {
      const repository = new SqlSessionRepository(executor);
      const ids = new Array<string>(devices.length);
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let index = next++; index < devices.length; index = next++) {
          const device = devices[index] as BenchDevice;
          const session = await repository.open({
            deviceId: device.deviceId,
            customerId: device.customerId,
            reason: 'bench',
            openedBy: `customer:${device.customerId}`,
          });
          ids[index] = session.id;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return ids;
    });
  }

  /**
   * A copy of this database (schema, devices, sessions) as a database of its own, for a reference server
   * that must do the same writes on the same PostgreSQL without sharing the gateway's tables. PostgreSQL
   * copies a template only while nobody is connected to it: call it before the gateway starts.
   */
  async copy(): Promise<BenchDatabase> {
    const copy = new BenchDatabase();
    copy.created = true;
    await withAdminClient((admin) => admin.query(`create database "${copy.name}" template "${this.name}"`));
    return copy;
  }

  /** Every command in the database, counted by status. */
  async commandsByStatus(): Promise<Record<string, number>> {
    const count = 'select status, count(*)::integer as count from public.commands group by status';
    const rows = await this.withExecutor(1, (executor) =>
      executor.query<{ status: string; count: number }>(count),
    );
    return Object.fromEntries(rows.map(({ status, count: n }) => [status, n]));
  }

  /** How many commands are not in a final state (queued, sent, delivered or running). */
  async countOpenCommands(): Promise<number> {
    const count = 'select count(*)::integer as open from public.commands where status = any($1::text[])';
    const [row] = await this.withExecutor(1, (executor) =>
      executor.query<{ open: number }>(count, [['queued', 'sent', 'delivered', 'running']]),
    );
    return row?.open ?? NaN;
  }

  /**
   * Transactions committed or rolled back in this database so far (pg_stat_database; one per statement
   * outside an explicit transaction). Backends report theirs at most once a second, and an idle one
   * within 10 s: read it that long after the work to count.
   */
  async transactions(): Promise<number> {
    const read =
      'select (xact_commit + xact_rollback)::float8 as count from pg_stat_database where datname = current_database()';
    const [row] = await this.withExecutor(1, (executor) => executor.query<{ count: number }>(read));
    return row?.count ?? NaN;
  }

  /** Marks a device revoked, as `DELETE /v1/devices/:id` leaves it. */
  async revoke(deviceId: string): Promise<void> {
    const revoke = "update public.devices set status = 'revoked', revoked_at = now() where id = $1";
    await this.withExecutor(1, (executor) => executor.query(revoke, [deviceId]));
  }

  /** Ends every session still connected to it (WITH (FORCE)), then drops it. */
  async drop(): Promise<void> {
    if (!this.created) return;
    await withAdminClient((admin) => admin.query(`drop database if exists "${this.name}" with (force)`));
    this.created = false;
  }

  private async withExecutor<T>(
    connections: number,
    work: (executor: PgPoolExecutor) => Promise<T>,
  ): Promise<T> {
    const pool = new Pool({ connectionString: this.url, max: connections, connectionTimeoutMillis: 5_000 });
    const executor = new PgPoolExecutor(pool, 5_000);
    try {
      return await work(executor);
    } finally {
      await executor.onApplicationShutdown();
    }
  }
}

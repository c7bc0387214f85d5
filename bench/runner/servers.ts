/** The two servers every comparison starts: the built gateway with its devices, and a bare server. */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSecretSignedToken } from '../../src/auth/dev-token';
import { basicAuthorization, type BenchDevice, call, type DataBackend, freePort, HOST } from './local';
import { REDIS_URL, STARTUP_TIMEOUT_MS } from './local';
import { BenchDatabase } from './postgres-database';
import { type NodeChild, type NodeChildOptions, ROOT } from './processes';
import { type Run } from './runner';

export interface Server {
  process: NodeChild;
  url: string;
}

export interface Gateway extends Server {
  devices: BenchDevice[];
  /** The devices' customer's bearer token (embedded: the one they were created with). */
  token?: string;
  /** Postgres: the run's own database. */
  database?: BenchDatabase;
  /** What a further instance of the same cluster needs (`alongside`). */
  env: Env;
}

type Env = NodeJS.ProcessEnv;

/** Configuration beyond the common one, node options before the script, and how the process is started. */
export interface ServerOptions {
  env?: Env;
  nodeArgs?: readonly string[];
  process?: Omit<NodeChildOptions, 'env'>;
}

/** The configuration the gateway and the bare servers get alike. */
function serverEnvironment(run: Run, port: number, keyPrefix: string, env?: Env): Env {
  const common = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST,
    PORT: String(port),
    LOG_LEVEL: 'warn',
  };
  const data = { DATA_BACKEND: 'embedded', DATA_DIR: join(run.scratch.temp, 'data') };
  return { ...common, CACHE_BACKEND: 'redis', REDIS_URL, REDIS_KEY_PREFIX: keyPrefix, ...data, ...env };
}

/** Required unless embedded; only the issuer of customer tokens is derived from it (no call reaches it). */
export const SUPABASE_URL = 'http://127.0.0.1:9';

/**
 * The built gateway (`node dist/main.js`) as a server of the run, with `devices` devices of one customer.
 * Embedded (PGlite in a temporary DATA_DIR): the devices are created through its API, as a customer
 * would, with a token from the built dev-token CLI, `concurrency` at a time. Postgres: a fresh database on
 * the local PostgreSQL (dropped at the end), its schema and devices in place before the gateway starts
 * (registered with `capabilities` when given; `prepare` then runs, still before the start), and a customer
 * token signed HS256 with the run's SUPABASE_JWT_SECRET. `alongside`: one more instance of the same
 * cluster (its database, devices, token and Redis key prefix), named `name`.
 */
export async function startGateway(
  run: Run,
  options: ServerOptions & {
    dataBackend: DataBackend;
    devices: number;
    concurrency?: number;
    register?: boolean;
    capabilities?: string[];
    /** Postgres: the devices spread over this many customers (the token is the first device's). */
    customers?: number;
    prepare?: (database: BenchDatabase, devices: BenchDevice[]) => Promise<void>;
    alongside?: Gateway;
    name?: string;
  },
): Promise<Gateway> {
  const port = await freePort();
  const url = `http://${HOST}:${port}`;
  let env = serverEnvironment(run, port, run.scratch.prefix, options.env);
  let database: BenchDatabase | undefined = options.alongside?.database;
  let devices: BenchDevice[] = options.alongside?.devices ?? [];
  let token = options.alongside?.token;
  if (options.alongside) env = { ...options.alongside.env, ...options.env, PORT: String(port) };
  else if (options.dataBackend === 'postgres') {
    const created = new BenchDatabase();
    database = created;
    run.onCleanUp(() => created.drop());
    await created.create();
    const { capabilities, concurrency, customers } = options;
    devices = await created.createDevices(options.devices, { capabilities, concurrency, customers });
    await options.prepare?.(created, devices);
    env = {
      ...env,
      DATA_BACKEND: 'postgres',
      DATABASE_URL: created.url,
      DEVICE_SECRET_PEPPER: created.pepper,
      SUPABASE_URL,
      SUPABASE_JWT_SECRET: created.jwtSecret,
    };
    const sub = devices[0]?.customerId ?? randomUUID();
    const project = { supabaseUrl: SUPABASE_URL, jwtSecret: created.jwtSecret };
    token = await createSecretSignedToken(project, { sub, ttlSec: 7200 });
  }
  const nodeArgs = [...(options.nodeArgs ?? []), 'dist/main.js'];
  const gateway = run.server(options.name ?? 'gateway', nodeArgs, { ...options.process, env });
  const ready = async (): Promise<boolean> =>
    (await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined))
      ?.status === 200;
  await gateway.waitFor('readiness', ready, STARTUP_TIMEOUT_MS);

  if (options.dataBackend === 'embedded' && !options.alongside) {
    const customerId = randomUUID();
    const cli = ['dist/cli/dev-token.js', '--sub', customerId, '--ttl', '7200'];
    const cliEnv = { PATH: process.env.PATH, DATA_BACKEND: 'embedded', DATA_DIR: env.DATA_DIR ?? '' };
    const issue = { cwd: ROOT, env: cliEnv, timeout: 15_000 };
    token = (await promisify(execFile)(process.execPath, cli, issue)).stdout.trim();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    devices = new Array<BenchDevice>(options.devices);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let index = next++; index < options.devices; index = next++) {
        const body = JSON.stringify({ name: `bench-${index}` });
        const created = (await call(`${url}/v1/devices`, { method: 'POST', headers, body }, 201)) as {
          credentials: { deviceId: string; secret: string };
        };
        devices[index] = { ...created.credentials, customerId };
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 1 }, worker));
  }
  // As agents do before their first heartbeat.
  const body = JSON.stringify({
    agentVersion: '1.4.2',
    hardware: { model: 'bench' },
    capabilities: ['heartbeat'],
  });
  for (const device of options.register && !options.alongside ? devices : []) {
    const headers = { authorization: basicAuthorization(device), 'content-type': 'application/json' };
    await call(`${url}/v1/agent/register`, { method: 'POST', headers, body });
  }
  if (!options.alongside)
    console.log(
      database
        ? `Gateway data backend: postgres (database ${database.name} on ${HOST}:5432, unpinned)`
        : 'Gateway data backend: embedded (PGlite in the gateway process)',
    );
  return { process: gateway, url, devices, token, database, env };
}

/**
 * `bench/bare/bare-server.ts --protocol <protocol>` as the run's "bare" server, knowing the devices (through
 * a file), with its Redis keys under the run's prefix + "bare:"; `commands`: bench/bare/bare-commands-server.ts
 * (its database and the customers' JWT secret in `options.env`).
 */
export async function startBare(
  run: Run,
  protocol: 'http' | 'socket' | 'commands',
  devices: readonly BenchDevice[],
  options: ServerOptions = {},
): Promise<Server> {
  const devicesFile = join(run.scratch.temp, 'devices.json');
  writeFileSync(devicesFile, JSON.stringify(devices), { mode: 0o600 });
  const port = await freePort();
  const script = ['-r', 'ts-node/register/transpile-only'];
  if (protocol === 'commands') script.push('bench/bare/bare-commands-server.ts');
  else script.push('bench/bare/bare-server.ts', '--protocol', protocol);
  const nodeArgs = [...(options.nodeArgs ?? []), ...script, '--devices', devicesFile];
  const env = serverEnvironment(run, port, `${run.scratch.prefix}bare:`, options.env);
  const bare = run.server('bare', nodeArgs, { ...options.process, env });
  await bare.waitFor('"listening on"', (output) => output.includes('listening on'), STARTUP_TIMEOUT_MS);
  return { process: bare, url: `http://${HOST}:${port}` };
}

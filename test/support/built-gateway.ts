import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AppConfig } from '../../src/config/app-config';
import { type ManagedProcess } from './child-process';
import { eventually } from './eventually';
import { httpGet } from './http';

/** What child-process tests run: the build (`npm test` builds first), from the repository root. */
export const ROOT = join(__dirname, '..', '..');
export const BUILT_MAIN = join(ROOT, 'dist', 'main.js');
/** Child processes get nothing of this environment but what a shell needs, so defaults are what is tested. */
export const BARE_ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
/** For children run through npm: no registry look-up for a newer npm on the way. */
export const NPM_ENV = { ...BARE_ENV, npm_config_update_notifier: 'false' };
/** Start-up includes opening PGlite and migrating it, which takes seconds on a slow machine. */
export const START_DEADLINE_MS = 45_000;

/** The environment that gives a child gateway an in-process instance's configuration, on its own port. */
export function environmentOf(config: AppConfig, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...BARE_ENV };
  for (const [key, value] of Object.entries(config)) {
    if (value !== undefined) env[key] = String(value);
  }
  return { ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
}

export function assertBuilt(): void {
  if (!existsSync(BUILT_MAIN)) {
    throw new Error(`${BUILT_MAIN} is missing: run \`npm run build\` (npm test does)`);
  }
}

/** Polls readiness until 200, failing with the process's output at the deadline. */
export async function readyOrOutput(
  gateway: ManagedProcess,
  base: string,
  description: string,
): Promise<void> {
  await eventually(
    description,
    () => httpGet(`${base}/health/ready`),
    (result) => result.status === 200,
    { timeoutMs: START_DEADLINE_MS, intervalMs: 100 },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${gateway.output()}`);
  });
}

/** Resident memory of a process, in MiB, as the kernel counts it (VmRSS). */
export function residentMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) / 1024;
}

/** Whether a process still runs; a zombie (ended, not yet reaped) does not. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** True once nothing accepts connections at `base` any more. */
export async function refusesConnections(base: string): Promise<boolean> {
  try {
    await httpGet(`${base}/health/live`, 2_000);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

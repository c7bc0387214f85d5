import { type ChildProcess, execFileSync, spawn, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = resolve(__dirname, '..', '..');

/** Every child this run started; whatever happens, none outlives the run. */
const started = new Set<ChildProcess>();

const isRunning = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

/** Last resort, synchronous, for process 'exit': SIGKILL whatever still runs. */
export function killAllNow(): void {
  for (const child of started) if (isRunning(child)) child.kill('SIGKILL');
}

export interface NodeChildOptions {
  env: NodeJS.ProcessEnv;
  /** `taskset --cpu-list <cpu>`: the servers share one CPU, so neither is favoured. */
  cpu?: string;
  /** A soft open-file limit to raise to first: `ulimit -n` is per process, and inherited. */
  fileLimit?: number;
  /** An IPC channel, for request() (the memory probe, the socket clients). */
  ipc?: boolean;
}

/**
 * A node child process, its output kept (the last 64 KiB) for error messages. Wrappers (taskset, the
 * shell raising the open-file limit) exec the next, so the pid is node's, the one /proc is read for.
 */
export class NodeChild {
  private output = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private readonly waiting: { resolve: (reply: unknown) => void; reject: (error: Error) => void }[] = [];

  constructor(
    readonly name: string,
    nodeArgs: readonly string[],
    options: NodeChildOptions,
  ) {
    let argv = [process.execPath, ...nodeArgs];
    if (options.fileLimit)
      argv = ['/bin/sh', '-c', `ulimit -n ${options.fileLimit} && exec "$0" "$@"`, ...argv];
    if (options.cpu !== undefined) argv = ['taskset', '--cpu-list', options.cpu, ...argv];
    const [command = process.execPath, ...args] = argv;
    const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', ...(options.ipc ? ['ipc' as const] : [])];
    this.child = spawn(command, args, { env: options.env, cwd: ROOT, stdio });
    started.add(this.child);
    const keep = (chunk: string): void => {
      this.output = (this.output + chunk).slice(-65_536);
    };
    this.child.stdout?.setEncoding('utf8').on('data', keep);
    this.child.stderr?.setEncoding('utf8').on('data', keep);
    this.child.on('message', (reply: unknown) => this.waiting.shift()?.resolve(reply));
    this.exited = new Promise((resolveExit) => {
      this.child.once('exit', (code, signal) => {
        const error = new Error(`${name} exited (${signal ?? String(code)}):\n${this.output}`);
        for (const waiting of this.waiting.splice(0)) waiting.reject(error);
        resolveExit();
      });
      this.child.once('error', (error) => {
        keep(`\n[spawn failed: ${error.message}]\n`);
        resolveExit();
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} did not start:\n${this.output}`);
    return this.child.pid;
  }

  get running(): boolean {
    return isRunning(this.child);
  }

  recentOutput = (): string => this.output;

  /** Sends a message over the IPC channel; the child answers each with one message, in order. */
  request<T>(message: object): Promise<T> {
    return new Promise<unknown>((resolveReply, reject) => {
      this.waiting.push({ resolve: resolveReply, reject });
      this.child.send(message);
    }) as Promise<T>;
  }

  /** Fails with the process's output if it exits, or the condition does not hold, within the deadline. */
  async waitFor(
    what: string,
    condition: (output: string) => boolean | Promise<boolean>,
    timeoutMs: number,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition(this.output))) {
      if (!this.running) throw new Error(`${this.name} exited before ${what}:\n${this.output}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms:\n${this.output}`);
      await sleep(50);
    }
  }

  /** SIGTERM (servers then exit cleanly, which also writes a --cpu-prof profile), SIGKILL after a grace. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timeout = sleep(graceMs, 'timeout' as const, { ref: false });
    if ((await Promise.race([this.exited, timeout])) === 'timeout') {
      process.stderr.write(`${this.name} did not stop within ${graceMs} ms; killing it\n`);
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

let clockTicks: number | undefined;

/** CPU time (user + system) a process has used so far, in seconds, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may itself hold spaces: state is field 3,
  // utime field 14 and stime field 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime] = [Number(fields[14 - 3]), Number(fields[15 - 3])];
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error(`Unreadable /proc/${pid}/stat: ${stat}`);
  return (utime + stime) / clockTicks;
}

/** A memory figure of /proc/<pid>/status (VmRSS: resident now, VmHWM: peak so far), in bytes. */
export function memoryBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`No ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/**
 * Pins this process to every CPU but the last and returns the last one, for the servers: they share it
 * alike, so neither is favoured, and the load this process (and whatever it starts unpinned) generates
 * competes with neither. Undefined when pinning is off, there is one CPU, or taskset is unavailable.
 */
export function reserveCpuForServers(enabled: boolean): string | undefined {
  const cpus = availableParallelism();
  if (!enabled || cpus < 2) return undefined;
  try {
    const others = ['--all-tasks', '--cpu-list', '--pid', `0-${cpus - 2}`, String(process.pid)];
    execFileSync('taskset', others, { stdio: 'ignore' });
    return String(cpus - 1);
  } catch {
    console.log('taskset is not available or not permitted: running unpinned');
    return undefined;
  }
}

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every child this run started; whatever happens, none outlives the run. */
const started = new Set<ChildProcess>();

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Last resort, synchronous, for process 'exit': SIGKILL whatever still runs. */
export function killAllNow(): void {
  for (const child of started) if (isRunning(child)) child.kill('SIGKILL');
}

/** A server child process, its output kept (the last 64 KiB) for error messages. */
export class ServerProcess {
  private output = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    options: { env: NodeJS.ProcessEnv; cwd: string },
  ) {
    this.child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.add(this.child);
    const keep = (chunk: string): void => {
      this.output = (this.output + chunk).slice(-65_536);
    };
    this.child.stdout?.setEncoding('utf8').on('data', keep);
    this.child.stderr?.setEncoding('utf8').on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => {
        resolve();
      });
      this.child.once('error', (error) => {
        keep(`\n[spawn failed: ${error.message}]\n`);
        resolve();
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined)
      throw new Error(`${this.name} has no pid: it did not start\n${this.output}`);
    return this.child.pid;
  }

  get running(): boolean {
    return isRunning(this.child);
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

  /** SIGTERM (both servers then exit cleanly, which also writes a --cpu-prof profile), SIGKILL after a grace. */
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

  recentOutput(): string {
    return this.output;
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
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error(`Unreadable /proc/${pid}/stat: ${stat}`);
  return (utime + stime) / clockTicks;
}

/**
 * Pins this process to every CPU but the last and returns the last one, for both servers: they share it
 * alike, so neither is favoured, and the load this process (and whatever it starts unpinned) generates
 * competes with neither. Undefined when pinning is off, there is one CPU, or taskset is unavailable.
 */
export function reserveCpuForServers(enabled: boolean): string | undefined {
  const cpus = availableParallelism();
  if (!enabled || cpus < 2) return undefined;
  try {
    execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', `0-${cpus - 2}`, String(process.pid)], {
      stdio: 'ignore',
    });
    return String(cpus - 1);
  } catch {
    console.log('taskset is not available or not permitted: running unpinned');
    return undefined;
  }
}

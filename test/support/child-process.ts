import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A child process whose output is kept for assertions and whose end can be awaited. Tests stop every
 * one they start in afterAll with `stop()`, or jest would wait for them forever.
 */
export class ManagedProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcess;
  private readonly detached: boolean;

  constructor(
    command: string,
    args: readonly string[],
    options: {
      env: NodeJS.ProcessEnv;
      cwd?: string;
      /**
       * In a process group of its own, as a command started from a terminal or by a supervisor: then
       * signalGroup() reaches it and everything it started, and stop() ends them all, even those that
       * outlived it.
       */
      detached?: boolean;
    },
  ) {
    this.detached = options.detached ?? false;
    this.child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.detached,
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('exit', (code, signal) => {
        resolve({ code, signal });
      });
    });
    // A spawn failure is reported by waitForExit/waitForOutput; this keeps it from being "unhandled" first.
    this.exited.catch(() => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** What a terminal's Ctrl-C does: the signal to every process in the group (detached only). */
  signalGroup(signal: NodeJS.Signals): void {
    if (!this.detached || this.child.pid === undefined) throw new Error('not a process group of its own');
    process.kill(-this.child.pid, signal);
  }

  /** Pids of the processes this one started, and theirs (`npm start` → sh → node), from /proc. */
  descendants(): number[] {
    const children = (pid: number): number[] =>
      readdirSync(`/proc/${pid}/task`).flatMap((task) => {
        try {
          return readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
            .split(' ')
            .filter((entry) => entry.trim() !== '')
            .map(Number);
        } catch {
          return []; // the task ended while being read
        }
      });
    const found: number[] = [];
    const pending = this.pid === undefined || !this.running ? [] : children(this.pid);
    while (pending.length > 0) {
      const pid = pending.shift()!;
      found.push(pid);
      try {
        pending.push(...children(pid));
      } catch {
        // it ended meanwhile: nothing below it either
      }
    }
    return found;
  }

  /** Resolves with the exit, or fails with the process's output when it has not exited by the deadline. */
  async waitForExit(timeoutMs = 15_000): Promise<Exit> {
    const timeout = sleep(timeoutMs, 'timeout' as const, { ref: false });
    const outcome = await Promise.race([this.exited, timeout]);
    if (outcome === 'timeout') {
      throw new Error(`Process did not exit within ${timeoutMs} ms\n${this.output()}`);
    }
    return outcome;
  }

  /** Waits until the combined output matches, failing early if the process exits first. */
  async waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stdout + this.stderr)) {
      if (!this.running)
        throw new Error(`Process exited before printing ${String(pattern)}\n${this.output()}`);
      if (Date.now() > deadline)
        throw new Error(`No ${String(pattern)} within ${timeoutMs} ms\n${this.output()}`);
      await sleep(25);
    }
  }

  /** Ends the process if it still runs; SIGKILL after a short grace so that afterAll always finishes. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
    if (this.running) {
      this.child.kill(signal);
      const timeout = sleep(graceMs, 'timeout' as const, { ref: false });
      if ((await Promise.race([this.exited, timeout])) === 'timeout') {
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
    if (this.detached) this.killGroup();
  }

  /** SIGKILL to whatever is left of the group: a child that outlived its parent must not outlive the test. */
  private killGroup(): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is empty already
    }
  }

  output(): string {
    return `--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`;
  }
}

import { killAllNow } from './processes';

export interface Benchmark {
  run(): Promise<void>;
  /** Must be idempotent: a signal or the deadline may call it while a run's own call is under way. */
  cleanUp(): Promise<void>;
}

/**
 * Runs a benchmark, cleans up and exits: 0 on success, 1 on failure or past `budgetMs`, 130 on SIGINT or
 * SIGTERM. The budget keeps a stuck run from holding the machine (and its child servers) indefinitely.
 */
export async function runToExit(
  bench: Benchmark,
  options: {
    budgetMs: number;
    /** For the signal message: "the servers", "the servers and clients". */
    stopping: string;
    /** Synchronous last resort on process exit for children other than the ServerProcesses. */
    killNow?: () => void;
  },
): Promise<void> {
  const { budgetMs, stopping, killNow } = options;
  let exiting = false;
  const exit = async (code: number, message?: string): Promise<void> => {
    if (exiting) return;
    exiting = true;
    if (message) process.stderr.write(`${message}\n`);
    await bench.cleanUp().catch((error: unknown) => {
      process.stderr.write(`Clean-up failed: ${String(error)}\n`);
    });
    process.exit(code);
  };
  process.on('exit', () => {
    killNow?.();
    killAllNow();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void exit(130, `\n${signal}: stopping ${stopping}`));
  }
  const deadline = setTimeout(
    () => void exit(1, `The benchmark took longer than ${Math.round(budgetMs / 1000)} s`),
    budgetMs,
  );
  try {
    await bench.run();
    clearTimeout(deadline);
    await exit(0);
  } catch (error) {
    clearTimeout(deadline);
    await exit(1, `Benchmark failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

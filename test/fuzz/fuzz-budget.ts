import fc from 'fast-check';

/**
 * How long the fuzz suites run. `npm test` runs each property a few dozen times from a fixed seed, so a
 * failure there reproduces exactly; `npm run fuzz` sets FUZZ_RUNS much higher and, unless FUZZ_SEED is
 * given, a random seed that fast-check prints with the failure (with its path: FUZZ_SEED and FUZZ_PATH
 * replay it). Test code only: the gateway itself reads its environment through AppConfig.
 */
const DEFAULT_RUNS = 40;
const DEFAULT_SEED = 20_261_201;

function integerFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, not ${raw}`);
  return value;
}

const configuredRuns = integerFromEnv('FUZZ_RUNS');
const configuredSeed = integerFromEnv('FUZZ_SEED');
const replayPath = process.env.FUZZ_PATH;
/** A long run (`npm run fuzz`): random seed, and failures are shrunk to a minimal counterexample. */
const exploring = configuredRuns !== undefined;

/** The longest any one request or socket event may take before the fuzzer calls it a hang. */
export const ANSWER_TIMEOUT_MS = integerFromEnv('FUZZ_ANSWER_TIMEOUT_MS') ?? 5000;

/** Runs of a property; `share` scales it for properties whose runs cost more than one request. */
export function fuzzRuns(share = 1): number {
  return Math.max(1, Math.round((configuredRuns ?? DEFAULT_RUNS) * share));
}

/** fast-check parameters for one property. */
export function fuzzParameters<T>(share = 1): fc.Parameters<T> {
  return {
    numRuns: fuzzRuns(share),
    seed: configuredSeed ?? (exploring ? undefined : DEFAULT_SEED),
    ...(replayPath ? { path: replayPath } : {}),
    // In `npm test` the first counterexample is reported as found, with its seed and path; shrinking a
    // counterexample that hangs would take a timeout per attempt. `npm run fuzz` shrinks.
    endOnFailure: !exploring,
    plugins: [
      fc.timeout(ANSWER_TIMEOUT_MS * 4),
      // Ends the run (shrinking included) before jest's own timeout would, so the seed and path of a
      // failure are always reported rather than lost to "Exceeded timeout".
      fc.interruptAfterTimeLimit(fuzzTestTimeout(share) - 10_000, { failOnInterrupt: true }),
      readableFailures<T>(),
    ],
    noDefaultPlugins: true,
  };
}

const SHOWN_REPORT = 8000;

/**
 * fast-check's report, with long runs of one unit (20,000 escaped NULs, a 5,000-level nesting) written
 * as the unit and a count, so that a failing counterexample stays readable in a CI log.
 */
export function abbreviateReport(report: string): string {
  const shortened = report.replace(/([\s\S]{1,12}?)\1{19,}/g, (run, unit: string) => {
    return `${unit.repeat(3)}…[${unit} × ${run.length / unit.length}]`;
  });
  return shortened.length > SHOWN_REPORT
    ? `${shortened.slice(0, SHOWN_REPORT)}… (${shortened.length} characters in all)`
    : shortened;
}

function readableFailures<T>(): fc.Plugin<T> {
  return () => ({
    onAllRunsComplete: (details) => {
      if (!details.failed) return;
      const report = fc.defaultReportMessage(details) ?? 'The property failed.';
      throw new Error(abbreviateReport(report), { cause: details.errorInstance });
    },
  });
}

/** The jest timeout of a test that runs one property of `share`: generous, hangs fail sooner, each. */
export function fuzzTestTimeout(share = 1): number {
  const perRunMs = 250;
  return 30_000 + fuzzRuns(share) * perRunMs;
}

/**
 * Runs a command-line tool's main: a failure prints its message (no stack: the messages are written for
 * the person at the terminal), followed by the usage when the command line itself was wrong, and exits 1.
 */
export function runCli(usage: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    const badCommandLine =
      error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS');
    process.stderr.write(badCommandLine ? `${message}\n\n${usage}\n` : `${message}\n`);
    process.exit(1);
  });
}

import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBuilt, NPM_ENV, refusesConnections, ROOT } from '../support/built-gateway';
import { ManagedProcess } from '../support/child-process';
import { findFreePort } from '../support/free-port';

/**
 * The README's "Trying it out" blocks, and the longer walk of docs/guide.md, run as a reader pastes them: one after the other in one bash, from a
 * folder that holds what a checkout after `npm ci` holds for them (package.json and the built dist/), so
 * that the files they write (logs, credentials, ./data) land there and not in the repository.
 *
 * Only the blocks whose first line is a `# quickstart` comment (README) or `# a longer walk` (guide) are
 * run. The others are not: the guide's other blocks are fragments that continue the quickstart's shell; the
 * README's install
 * and test commands (`npm ci && …`, `npm test`, `npm run fuzz`) are what runs this suite, and the
 * docker, compose and kubectl blocks need a container engine or a cluster these machines do not have
 * (test/operations/deployment-files.e2e-spec.ts checks those files instead).
 */
const QUICKSTART_MARKER = '# quickstart';
const WALK_MARKER = '# a longer walk';
const SCRIPT_DEADLINE_MS = 75_000;

function markedBlocks(file: string, marker: string): string[] {
  const markdown = readFileSync(join(ROOT, file), 'utf8');
  const blocks = [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
  return blocks.filter((block) => block.startsWith(marker));
}

/** Runs shell text as a pasted session would, in its own process group, on a free port. */
async function runPasted(text: string, cwd: string): Promise<{ script: ManagedProcess; port: number }> {
  const port = await findFreePort();
  // -e: a failing command fails the run here, where a reader's interactive shell would go on.
  const script = new ManagedProcess('bash', ['-e', '-c', text], {
    env: { ...NPM_ENV, PORT: String(port) },
    cwd,
    detached: true,
  });
  return { script, port };
}

/** A folder as a checkout after `npm ci` is, for what the blocks use: package.json and dist/. */
function checkoutLike(): string {
  const directory = mkdtempSync(join(tmpdir(), 'readme-quickstart-'));
  copyFileSync(join(ROOT, 'package.json'), join(directory, 'package.json'));
  symlinkSync(join(ROOT, 'dist'), join(directory, 'dist'));
  return directory;
}

describe('the README quickstart and the guide walk, as pasted', () => {
  const workDirs: string[] = [];
  const scripts: ManagedProcess[] = [];

  beforeAll(() => {
    assertBuilt();
  });

  afterAll(async () => {
    // Each group holds the gateway and the agent its blocks started, should a script fail half-way.
    await Promise.all(scripts.map((script) => script.stop()));
    for (const directory of workDirs) rmSync(directory, { recursive: true, force: true });
  });

  async function run(text: string): Promise<{ script: ManagedProcess; port: number; workDir: string }> {
    const workDir = checkoutLike();
    workDirs.push(workDir);
    const started = await runPasted(text, workDir);
    scripts.push(started.script);
    const exit = await started.script.waitForExit(SCRIPT_DEADLINE_MS);
    if (exit.code !== 0) {
      throw new Error(`the blocks exited ${String(exit.code)}\n${started.script.output()}`);
    }
    expect(exit).toEqual({ code: 0, signal: null });
    return { ...started, workDir };
  }

  it('finds the marked blocks: start, a diagnostic, a plan, stop', () => {
    const blocks = markedBlocks('README.md', QUICKSTART_MARKER);
    expect(blocks.map((block) => block.split('\n')[0])).toEqual([
      expect.stringContaining('start the gateway'),
      expect.stringContaining('diagnostic'),
      expect.stringContaining('remediation plan'),
      expect.stringContaining('stop the agent and the gateway'),
    ]);
  });

  it(
    'runs as pasted against a fresh embedded gateway: the diagnostic succeeds, the plan completes',
    async () => {
      const { script, port, workDir } = await run(markedBlocks('README.md', QUICKSTART_MARKER).join('\n'));

      expect(script.stdout).toMatch(/"credentials":\{"deviceId":"[0-9a-f-]{36}","secret":"[^"]+"\}/);
      expect(script.stdout).toMatch(/^device [0-9a-f-]{36} is online$/m);
      expect(script.stdout).toContain('"type":"ping"');
      // The synthetic ping loses a reply now and then, as real ones do.
      expect(script.stdout).toMatch(/^ping succeeded: [0-3]\/3 replies$/m);
      expect(script.stdout).toMatch(/"status":"proposed".*"planHash":"[0-9a-f]{64}"/);
      expect(script.stdout).toMatch(/^plan completed$/m);
      // What the blocks started, they stopped: nothing listens on the port any more.
      expect(await refusesConnections(`http://127.0.0.1:${port}`)).toBe(true);
      // The agent ran on the port from PORT, as its default URL, with the device the customer created.
      expect(readFileSync(join(workDir, 'agent-sim.log'), 'utf8')).toContain(
        `1 agents started against http://127.0.0.1:${port}`,
      );
    },
    SCRIPT_DEADLINE_MS + 15_000,
  );

  it(
    "runs the guide's longer walk: a retried command answered again, another cancelled",
    async () => {
      const [walk, ...more] = markedBlocks('docs/guide.md', WALK_MARKER);
      expect(more).toEqual([]);
      const { script, port } = await run(walk ?? '');

      // curl prints each answer without a newline, so the Commands are picked out of the stream.
      const commands = [
        ...script.stdout.matchAll(
          /\{"id":"([0-9a-f-]{36})","sessionId":"[^"]+","deviceId":"[^"]+","type":"(\w+)","params":\{[^}]*\},"status":"(\w+)"/g,
        ),
      ].map(([, id, type, status]) => ({ id, type, status }));
      const pings = commands.filter((command) => command.type === 'ping');
      expect(pings.length).toBeGreaterThanOrEqual(2);
      expect(new Set(pings.map((ping) => ping.id)).size).toBe(1);
      expect(pings[0]?.status).toBe('succeeded');
      expect(commands.filter((command) => command.type === 'speed_test').map((c) => c.status)).toContain(
        'cancelled',
      );
      expect(await refusesConnections(`http://127.0.0.1:${port}`)).toBe(true);
    },
    SCRIPT_DEADLINE_MS + 15_000,
  );
});

import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBuilt, NPM_ENV, refusesConnections, ROOT } from '../support/built-gateway';
import { ManagedProcess } from '../support/child-process';
import { findFreePort } from '../support/free-port';

/**
 * The README's "Trying it out" blocks, run as a reader pastes them: one after the other in one bash, from a
 * folder that holds what a checkout after `npm ci` holds for them (package.json and the built dist/), so
 * that the files they write (logs, credentials, ./data) land there and not in the repository.
 *
 * Only the blocks whose first line is a `# quickstart` comment are run. The others are not: the install
 * and test commands (`npm ci && …`, `npm test`, `npm run fuzz`) are what runs this suite, and the
 * docker, compose and kubectl blocks need a container engine or a cluster these machines do not have
 * (test/operations/deployment-files.e2e-spec.ts checks those files instead).
 */
const QUICKSTART_MARKER = '# quickstart';
const SCRIPT_DEADLINE_MS = 75_000;

function quickstartBlocks(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
  return blocks.filter((block) => block.startsWith(QUICKSTART_MARKER));
}

describe('the README quickstart', () => {
  let workDir: string;
  let script: ManagedProcess | undefined;

  beforeAll(() => {
    assertBuilt();
    workDir = mkdtempSync(join(tmpdir(), 'readme-quickstart-'));
    copyFileSync(join(ROOT, 'package.json'), join(workDir, 'package.json'));
    symlinkSync(join(ROOT, 'dist'), join(workDir, 'dist'));
  });

  afterAll(async () => {
    // The group holds the gateway and the agent the blocks started, should the script fail half-way.
    await script?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('finds the marked blocks: start, a diagnostic, a plan, stop', () => {
    const blocks = quickstartBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
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
      const blocks = quickstartBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
      const port = await findFreePort();
      // -e: a failing command fails the run here, where a reader's interactive shell would go on.
      script = new ManagedProcess('bash', ['-e', '-c', blocks.join('\n')], {
        env: { ...NPM_ENV, PORT: String(port) },
        cwd: workDir,
        detached: true,
      });
      const exit = await script.waitForExit(SCRIPT_DEADLINE_MS);
      if (exit.code !== 0) throw new Error(`the quickstart exited ${String(exit.code)}\n${script.output()}`);

      expect(exit).toEqual({ code: 0, signal: null });
      expect(script.stdout).toMatch(/"credentials":\{"deviceId":"[0-9a-f-]{36}","secret":"[^"]+"\}/);
      expect(script.stdout).toMatch(/^device [0-9a-f-]{36} is online$/m);
      expect(script.stdout).toContain('"type":"ping"');
      expect(script.stdout).toMatch(/^ping succeeded: 3\/3 replies$/m);
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
});

/**
 * Run by `npm run build` after compiling: records the commit and build time that /version reports.
 * Outside a git checkout the commit is "unknown"; BUILD_COMMIT overrides it at run time.
 */
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function currentCommit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

writeFileSync(
  join(__dirname, '..', 'build-info.json'),
  `${JSON.stringify({ commit: currentCommit(), builtAt: new Date().toISOString() })}\n`,
);

// `npm ci` runs this (npm's prepare step), so that a fresh clone is built and ready to start. A production
// install (`npm ci --omit=dev`) has no build tools and ships a dist/ built elsewhere: it skips the build
// instead of failing the install.
const { execSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

if (!existsSync(join(__dirname, '..', 'node_modules', '@nestjs', 'cli'))) {
  console.log('prepare: dev dependencies are not installed; not building (dist/ must come from a build)');
  process.exit(0);
}
execSync('npm run build', { stdio: 'inherit', cwd: join(__dirname, '..') });

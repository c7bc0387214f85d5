/** `node -r ts-node/register/transpile-only bench/run.ts <scenario> [options]`; see bench/README.md. */
import { runScenario } from './runner/runner';
import { authTiming } from './scenarios/auth-timing';
import { commands } from './scenarios/commands';
import { heartbeat } from './scenarios/heartbeat';
import { soak } from './scenarios/soak';
import { sockets } from './scenarios/sockets';
import { startup } from './scenarios/startup';

const [name, ...args] = process.argv.slice(2);
if (name === 'heartbeat') void runScenario(heartbeat, args);
else if (name === 'sockets') void runScenario(sockets, args);
else if (name === 'startup') void runScenario(startup, args);
else if (name === 'auth-timing') void runScenario(authTiming, args);
else if (name === 'commands') void runScenario(commands, args);
else if (name === 'soak') void runScenario(soak, args);
else {
  process.stderr.write(
    'Usage: bench/run.ts <heartbeat|sockets|startup|auth-timing|commands|soak> [options]; see bench/README.md\n',
  );
  process.exitCode = 1;
}

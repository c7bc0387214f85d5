import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Socket } from 'socket.io';
import { loadConfig } from '../../src/config/app-config';
import { AgentGateway } from '../../src/realtime/agent.gateway';
import {
  assertBuilt,
  BARE_ENV,
  isRunning,
  NPM_ENV,
  readyOrOutput,
  refusesConnections,
  ROOT,
  START_DEADLINE_MS,
} from '../support/built-gateway';
import { ManagedProcess } from '../support/child-process';
import { eventually } from '../support/eventually';
import { findFreePort } from '../support/free-port';
import { type GatewayInstance, startGatewayInstance } from '../support/gateway-instance';
import { makeDataDir } from '../support/in-process-app';

/**
 * The README's "start the gateway" line, without its `npm ci && ` (installing is not what is tested), as
 * the argv a supervisor or container runtime would run: a plain command, no shell in between.
 */
function readmeStartCommand(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Two commands'));
  const line = /```sh\n(npm ci && [^\n]+)\n```/.exec(section)?.[1];
  if (line === undefined) throw new Error('README.md: no `npm ci && …` start command under "Two commands"');
  const command = line.slice('npm ci && '.length);
  if (!/^[\w./=-]+( [\w./=-]+)*$/.test(command)) {
    throw new Error(`README.md's start command is not a plain command: ${command}`);
  }
  return command.split(' ');
}

describe('signals reach the processes the README starts', () => {
  const processes: ManagedProcess[] = [];
  const dataDirs: string[] = [];

  function dataDir(): string {
    const directory = makeDataDir();
    dataDirs.push(directory);
    return directory;
  }

  /** A command as a supervisor starts it: its own process group, the gateway's settings in its environment. */
  function spawnCommand(argv: string[], env: Record<string, string>): ManagedProcess {
    const [command, ...args] = argv;
    const child = new ManagedProcess(command!, args, { env, cwd: ROOT, detached: true });
    processes.push(child);
    return child;
  }

  async function startGatewayWith(
    argv: string[],
    baseEnv: Record<string, string>,
  ): Promise<{ started: ManagedProcess; base: string; gatewayPids: number[] }> {
    const port = await findFreePort();
    const base = `http://127.0.0.1:${port}`;
    const started = spawnCommand(argv, {
      ...baseEnv,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir(),
    });
    await readyOrOutput(started, base, `\`${argv.join(' ')}\` serves`);
    return { started, base, gatewayPids: [started.pid!, ...started.descendants()] };
  }

  beforeAll(() => {
    assertBuilt();
  });

  afterAll(async () => {
    await Promise.all(processes.map((child) => child.stop('SIGKILL')));
    for (const directory of dataDirs) rmSync(directory, { recursive: true, force: true });
  });

  it(
    "SIGTERM to the process the README's start command starts stops the gateway",
    async () => {
      const { started, base, gatewayPids } = await startGatewayWith(readmeStartCommand(), BARE_ENV);

      started.signal('SIGTERM');

      expect(await started.waitForExit(20_000)).toEqual({ code: 0, signal: null });
      expect(await refusesConnections(base)).toBe(true);
      expect(gatewayPids.filter(isRunning)).toEqual([]);
    },
    START_DEADLINE_MS + 30_000,
  );

  it(
    'SIGTERM to `npm start` (as a supervisor sends it) reaches the gateway, and npm exits with it',
    async () => {
      const { started, base, gatewayPids } = await startGatewayWith(['npm', 'start'], NPM_ENV);
      expect(gatewayPids.length).toBeGreaterThan(1);

      started.signal('SIGTERM');

      expect(await started.waitForExit(20_000)).toEqual({ code: 0, signal: null });
      expect(await refusesConnections(base)).toBe(true);
      expect(gatewayPids.filter(isRunning)).toEqual([]);
      expect(started.stdout).toContain('Stopped cleanly');
    },
    START_DEADLINE_MS + 30_000,
  );

  it(
    'Ctrl-C on `npm start` (SIGINT to npm and the gateway, then npm forwarding it again) still shuts down cleanly',
    async () => {
      const { started, base, gatewayPids } = await startGatewayWith(['npm', 'start'], NPM_ENV);

      started.signalGroup('SIGINT');

      expect(await started.waitForExit(20_000)).toEqual({ code: 0, signal: null });
      expect(started.stdout).toContain('SIGINT received');
      expect(started.stdout).toContain('Stopped cleanly');
      expect(await refusesConnections(base)).toBe(true);
      expect(gatewayPids.filter(isRunning)).toEqual([]);
    },
    START_DEADLINE_MS + 30_000,
  );

  describe('`npm run agent:sim`', () => {
    const DEVICES = 2;
    const gatewayDataDir = makeDataDir();
    let gateway: GatewayInstance | undefined;
    /** Why each device socket the gateway accepted went away, from the gateway's side. */
    const disconnectReasons: string[] = [];
    let accepted = 0;

    beforeAll(async () => {
      // Presence deadlines out of reach: a device goes offline here only because its socket closed.
      gateway = await startGatewayInstance(
        loadConfig({ DATA_DIR: gatewayDataDir, LOG_LEVEL: 'silent', HEARTBEAT_INTERVAL_SEC: '3600' }),
      );
      const agents = gateway.app.get(AgentGateway);
      const handleConnection = agents.handleConnection.bind(agents);
      // Observes each accepted socket's end; the gateway's own handling runs unchanged.
      jest.spyOn(agents, 'handleConnection').mockImplementation((socket) => {
        accepted += 1;
        (socket as Socket).once('disconnect', (reason: string) => disconnectReasons.push(reason));
        handleConnection(socket);
      });
    });

    afterAll(async () => {
      await gateway?.close();
      rmSync(gatewayDataDir, { recursive: true, force: true });
    });

    it(
      "ends on SIGTERM to npm, after closing its devices' sockets as a client does",
      async () => {
        const instance = gateway!;
        const simulator = spawnCommand(
          [
            'npm',
            'run',
            'agent:sim',
            '--',
            '--devices',
            String(DEVICES),
            '--url',
            instance.url,
            '--credentials',
            join(dataDir(), `credentials-${randomUUID()}.json`),
          ],
          // The simulator mints its customer token from the embedded gateway's DATA_DIR.
          { ...NPM_ENV, DATA_DIR: gatewayDataDir },
        );
        await simulator.waitForOutput(new RegExp(`${DEVICES} agents started`), START_DEADLINE_MS);
        await eventually(
          'every simulated device holds a socket',
          () => Promise.resolve(accepted),
          (sockets) => sockets === DEVICES,
        );
        const simulatorPids = [simulator.pid!, ...simulator.descendants()];

        simulator.signal('SIGTERM');

        expect(await simulator.waitForExit(20_000)).toEqual({ code: 0, signal: null });
        expect(simulator.stdout).toContain(`SIGTERM: closing ${DEVICES} sockets`);
        expect(simulator.stdout).toContain('stopped');
        expect(simulatorPids.filter(isRunning)).toEqual([]);
        const reasons = await eventually(
          'the gateway saw every device socket close',
          () => Promise.resolve([...disconnectReasons]),
          (seen) => seen.length === DEVICES,
        );
        expect(reasons).toEqual(Array<string>(DEVICES).fill('client namespace disconnect'));
        await eventually(
          'every simulated device is offline',
          () => Promise.resolve(instance.transitions.filter((t) => t.to === 'offline').length),
          (offline) => offline === DEVICES,
        );
      },
      START_DEADLINE_MS + 30_000,
    );
  });
});

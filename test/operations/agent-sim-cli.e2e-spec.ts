import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createDevToken } from '../../src/auth/dev-token';
import { assertBuilt, BARE_ENV, ROOT } from '../support/built-gateway';
import { ManagedProcess } from '../support/child-process';
import { eventually } from '../support/eventually';
import { findFreePort } from '../support/free-port';
import { bearer, request } from '../support/gateway-instance';
import { type InProcessApp, makeDataDir, startInProcessApp } from '../support/in-process-app';

const AGENT_SIM = join(ROOT, 'dist', 'cli', 'agent-sim.js');
const CUSTOMER = '7d3b9a10-0000-4000-8000-0000000c11a5';

interface DeviceList {
  items: { customerId: string; presence: { state: string } }[];
}

/**
 * `npm run agent:sim` as a user starts it beside a gateway: from the same environment (PORT, DATA_DIR),
 * with no --url, and for a customer it names.
 */
describe('agent:sim from the environment of its gateway', () => {
  let gateway: InProcessApp;
  let port: number;
  const scratch = makeDataDir();
  const processes: ManagedProcess[] = [];

  function simulator(args: string[], env: Record<string, string>): ManagedProcess {
    const child = new ManagedProcess(process.execPath, [AGENT_SIM, ...args], {
      env: { ...BARE_ENV, ...env },
    });
    processes.push(child);
    return child;
  }

  beforeAll(async () => {
    assertBuilt();
    port = await findFreePort();
    gateway = await startInProcessApp();
    await gateway.app.listen({ port, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await Promise.all(processes.map((child) => child.stop()));
    await gateway.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('talks to http://127.0.0.1:$PORT by default and creates its device for --customer, which it prints', async () => {
    const credentials = join(scratch, 'sim.credentials.json');
    const sim = simulator(['--customer', CUSTOMER, '--credentials', credentials], {
      PORT: String(port),
      DATA_DIR: gateway.dataDir,
    });

    await sim.waitForOutput(new RegExp(`1 agents started against http://127\\.0\\.0\\.1:${port} `));
    await sim.waitForOutput(new RegExp(`their devices belong to customer ${CUSTOMER}`));
    const token = await createDevToken(gateway.dataDir, { sub: CUSTOMER, ttlSec: 300 });
    const devices = await eventually(
      "the customer's device online",
      async () =>
        (await request<DeviceList>(`http://127.0.0.1:${port}/v1/devices`, { authorization: bearer(token) }))
          .body,
      (list) => list.items.length === 1 && list.items[0]?.presence.state === 'online',
    );
    expect(devices.items[0]?.customerId).toBe(CUSTOMER);

    sim.signal('SIGTERM');
    expect(await sim.waitForExit()).toEqual({ code: 0, signal: null });
  });

  it('refuses a --customer that is not a UUID, and --customer beside --token, with exit 1', async () => {
    const env = { PORT: String(port), DATA_DIR: gateway.dataDir };
    const malformed = simulator(['--customer', 'acme'], env);
    const both = simulator(['--customer', CUSTOMER, '--token', 'a-token'], env);

    expect(await malformed.waitForExit()).toEqual({ code: 1, signal: null });
    expect(malformed.stderr).toContain('--customer must be a UUID');
    expect(await both.waitForExit()).toEqual({ code: 1, signal: null });
    expect(both.stderr).toContain('leave it out with --token');
  });

  it('lists --customer and the PORT default in --help', async () => {
    const help = simulator(['--help'], {});

    expect(await help.waitForExit()).toEqual({ code: 0, signal: null });
    expect(help.stdout).toContain('--customer <uuid>');
    expect(help.stdout).toContain('http://127.0.0.1:<PORT>');
  });
});

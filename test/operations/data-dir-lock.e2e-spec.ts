import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDevToken } from '../../src/auth/dev-token';
import { DataDirInUseError, DataDirLock, DataDirLockError } from '../../src/infra/database/data-dir-lock';
import {
  assertBuilt,
  BARE_ENV,
  BUILT_MAIN,
  readyOrOutput,
  refusesConnections,
  ROOT,
  START_DEADLINE_MS,
} from '../support/built-gateway';
import { ManagedProcess } from '../support/child-process';
import { findFreePort } from '../support/free-port';
import { bearer, request } from '../support/gateway-instance';
import { makeDataDir } from '../support/in-process-app';

/** A refused process gives up before opening anything, so it is gone long before a start-up would end. */
const REFUSAL_DEADLINE_MS = 10_000;

interface Gateway {
  process: ManagedProcess;
  base: string;
}

describe('one process per DATA_DIR', () => {
  const processes: ManagedProcess[] = [];
  const dataDirs: string[] = [];

  function dataDir(): string {
    const directory = makeDataDir();
    dataDirs.push(directory);
    return directory;
  }

  async function spawnGateway(directory: string): Promise<Gateway> {
    const port = await findFreePort();
    const child = new ManagedProcess(process.execPath, [BUILT_MAIN], {
      env: { ...BARE_ENV, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: directory },
      cwd: ROOT,
    });
    processes.push(child);
    return { process: child, base: `http://127.0.0.1:${port}` };
  }

  async function startGateway(directory: string): Promise<Gateway> {
    const gateway = await spawnGateway(directory);
    await readyOrOutput(gateway.process, gateway.base, `a gateway on ${directory} is ready`);
    return gateway;
  }

  async function createDevice(gateway: Gateway, token: string, name: string): Promise<string> {
    const created = await request<{ device: { id: string } }>(`${gateway.base}/v1/devices`, {
      method: 'POST',
      authorization: bearer(token),
      body: { name },
    });
    expect(created.status).toBe(201);
    return created.body.device.id;
  }

  async function listedDeviceIds(gateway: Gateway, token: string): Promise<string[]> {
    const listed = await request<{ items: { id: string }[] }>(`${gateway.base}/v1/devices`, {
      authorization: bearer(token),
    });
    expect(listed.status).toBe(200);
    return listed.body.items.map((device) => device.id);
  }

  beforeAll(() => {
    assertBuilt();
  });

  afterAll(async () => {
    await Promise.all(processes.map((child) => child.stop('SIGKILL')));
    for (const directory of dataDirs) rmSync(directory, { recursive: true, force: true });
  });

  it('refuses a second lock on a locked folder, naming the holder, and grants it once released', () => {
    const directory = dataDir();
    const first = DataDirLock.acquire(directory);
    try {
      let refusal: unknown;
      try {
        DataDirLock.acquire(directory).release();
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(DataDirInUseError);
      expect((refusal as DataDirInUseError).holder).toMatchObject({ pid: process.pid });
      expect((refusal as Error).message).toContain(`DATA_DIR ${directory} is in use`);
    } finally {
      first.release();
    }

    const again = DataDirLock.acquire(directory);
    again.release();
  });

  it('refuses a DATA_DIR it cannot create with one clear message, in the process and as a gateway', async () => {
    const parent = dataDir();
    writeFileSync(join(parent, 'a-file'), 'not a folder\n');
    const impossible = join(parent, 'a-file', 'data');

    expect(() => DataDirLock.acquire(impossible)).toThrow(DataDirLockError);
    expect(() => DataDirLock.acquire(impossible)).toThrow(`Could not lock DATA_DIR ${impossible}`);

    const gateway = await spawnGateway(impossible);
    expect(await gateway.process.waitForExit(REFUSAL_DEADLINE_MS)).toEqual({ code: 1, signal: null });
    expect(gateway.process.stderr).toContain(`Could not lock DATA_DIR ${impossible}`);
    expect(gateway.process.stderr).not.toMatch(/\n\s+at /);
  });

  it(
    "refuses a second gateway on the same DATA_DIR at once, naming the folder and the first one's pid, and leaves the first one's data intact",
    async () => {
      const directory = dataDir();
      const first = await startGateway(directory);
      const token = await createDevToken(directory, { sub: randomUUID() });
      const deviceId = await createDevice(first, token, 'made by the first gateway');

      const second = await spawnGateway(directory);
      const exit = await second.process.waitForExit(REFUSAL_DEADLINE_MS);

      expect(exit).toEqual({ code: 1, signal: null });
      expect(second.process.stderr).toContain(`DATA_DIR ${directory} is in use by another gateway`);
      expect(second.process.stderr).toContain(`process ${first.process.pid!}`);
      expect(second.process.stderr).not.toMatch(/\n\s+at /);
      expect(await refusesConnections(second.base)).toBe(true);
      expect(await listedDeviceIds(first, token)).toEqual([deviceId]);

      first.process.signal('SIGTERM');
      expect(await first.process.waitForExit()).toEqual({ code: 0, signal: null });
      const restarted = await startGateway(directory);
      expect(await listedDeviceIds(restarted, token)).toEqual([deviceId]);
      await restarted.process.stop();
    },
    3 * START_DEADLINE_MS,
  );

  it(
    'starts again, with its data, on a DATA_DIR whose gateway was killed with SIGKILL',
    async () => {
      const directory = dataDir();
      const killed = await startGateway(directory);
      const token = await createDevToken(directory, { sub: randomUUID() });
      const deviceId = await createDevice(killed, token, 'made before the kill');

      killed.process.signal('SIGKILL');
      expect(await killed.process.waitForExit()).toEqual({ code: null, signal: 'SIGKILL' });

      const restarted = await startGateway(directory);
      expect(await listedDeviceIds(restarted, token)).toEqual([deviceId]);
      await restarted.process.stop();
    },
    2 * START_DEADLINE_MS,
  );
});

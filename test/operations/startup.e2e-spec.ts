import { readFileSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { AuditLogRepository } from '../../src/audit/audit-log.repository';
import { DeviceRepository } from '../../src/devices/device.repository';
import {
  assertBuilt,
  BARE_ENV,
  BUILT_MAIN,
  readyOrOutput,
  residentMiB,
  ROOT,
  START_DEADLINE_MS,
} from '../support/built-gateway';
import { ManagedProcess } from '../support/child-process';
import { eventually } from '../support/eventually';
import { findFreePort } from '../support/free-port';
import { httpGet, type HttpResult } from '../support/http';
import { makeDataDir, startInProcessApp } from '../support/in-process-app';
import { SLOW_REQUEST_STARTED } from '../support/slow-route.module';

/** The bound for an embedded gateway once started, on a new DATA_DIR and on a restart alike. */
const EMBEDDED_RSS_LIMIT_MIB = 250;

interface Readiness {
  status: string;
  error?: Record<string, { status: string }>;
}

function readinessOf(result: HttpResult): Readiness {
  return JSON.parse(result.body) as Readiness;
}

describe('the gateway as a process', () => {
  const processes: ManagedProcess[] = [];
  const dataDirs: string[] = [];

  function spawnGateway(args: string[], env: Record<string, string>): ManagedProcess {
    const child = new ManagedProcess(process.execPath, args, { env: { ...BARE_ENV, ...env }, cwd: ROOT });
    processes.push(child);
    return child;
  }

  function dataDir(): string {
    const directory = makeDataDir();
    dataDirs.push(directory);
    return directory;
  }

  beforeAll(() => {
    assertBuilt();
  });

  function logMessages(gateway: ManagedProcess): string[] {
    return gateway.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg?: string }).msg ?? '');
  }

  afterAll(async () => {
    await Promise.all(processes.map((child) => child.stop('SIGKILL')));
    for (const directory of dataDirs) rmSync(directory, { recursive: true, force: true });
  });

  it('refuses to start on malformed configuration, naming every bad variable', async () => {
    const gateway = spawnGateway([BUILT_MAIN], { PORT: 'abc', LOG_LEVEL: 'loud', DATA_DIR: dataDir() });

    const exit = await gateway.waitForExit();

    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(gateway.stderr).toContain('PORT must be an integer');
    expect(gateway.stderr).toContain('(got "abc")');
    expect(gateway.stderr).toContain('LOG_LEVEL must be one of');
    expect(gateway.stderr).toContain('(got "loud")');
    // One message for everything, not a crash with a stack trace.
    expect(gateway.stderr.match(/Invalid configuration/g)).toHaveLength(1);
    expect(gateway.stderr).not.toMatch(/\n\s+at /);
  });

  describe('with nothing configured but where to listen and keep data, and one misspelt variable', () => {
    let gateway: ManagedProcess;
    let base: string;

    beforeAll(async () => {
      const port = await findFreePort();
      base = `http://127.0.0.1:${port}`;
      gateway = spawnGateway([BUILT_MAIN], {
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir(),
        PRESENCE_SWEEP_INTERVALMS: '100',
      });
      await readyOrOutput(gateway, base, 'the built gateway is ready');
    }, START_DEADLINE_MS + 5_000);

    it('warns about the misspelt variable, naming the one it is nearest to', () => {
      expect(logMessages(gateway)).toContainEqual(
        'PRESENCE_SWEEP_INTERVALMS is not a variable the gateway reads, so it is ignored; did you mean PRESENCE_SWEEP_INTERVAL_MS?',
      );
    });

    it('says in its log that it runs embedded + memory', () => {
      const messages = logMessages(gateway);

      expect(messages).toContainEqual(
        expect.stringMatching(/data: embedded PGlite.*cache: memory.*embedded \+ memory/),
      );
    });

    it("creates its database from the build's image, not initdb, and stays within the memory bound", () => {
      expect(logMessages(gateway)).toContainEqual(
        expect.stringMatching(/^Created the embedded database in .* from the build's image$/),
      );
      expect(residentMiB(gateway.pid!)).toBeLessThanOrEqual(EMBEDDED_RSS_LIMIT_MIB);
    });

    it('reports its name, version, commit, build time and node version', async () => {
      const result = await httpGet(`${base}/version`);
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
        name: string;
        version: string;
      };

      expect(result.status).toBe(200);
      const info = JSON.parse(result.body) as Record<string, unknown>;
      expect(Object.keys(info).sort()).toEqual(['builtAt', 'commit', 'name', 'node', 'version']);
      expect(info).toMatchObject({ name: pkg.name, version: pkg.version, node: process.version });
      expect(info.commit).toMatch(/^\S+$/);
      // npm run build records when it ran; null would mean the build step that writes it was skipped.
      expect(info.builtAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
    });

    it('exports request durations labelled by route template, never by raw URL', async () => {
      await httpGet(`${base}/version?cache-buster=1234`);
      await httpGet(`${base}/no/such/device/5678`);

      const result = await httpGet(`${base}/metrics`);

      expect(result.status).toBe(200);
      expect(result.headers['content-type']).toMatch(/^text\/plain/);
      expect(result.body).toContain('# TYPE http_request_duration_seconds histogram');
      expect(result.body).toMatch(
        /http_request_duration_seconds_bucket\{[^}]*route="\/version"[^}]*status_code="200"/,
      );
      expect(result.body).toMatch(
        /http_request_duration_seconds_count\{[^}]*route="unmatched"[^}]*status_code="404"/,
      );
      expect(result.body).not.toContain('cache-buster');
      // In no label: a sample's value may hold those digits (a heap size did).
      expect(result.body).not.toMatch(/\{[^}]*5678[^}]*\}/);
      expect(result.body).not.toContain('/no/such/device');
    });

    it('exits 0 on SIGTERM when idle', async () => {
      gateway.signal('SIGTERM');

      const exit = await gateway.waitForExit();

      expect(exit).toEqual({ code: 0, signal: null });
    });
  });

  describe('a restart on existing data', () => {
    it(
      'opens the database it has and stays within the memory bound',
      async () => {
        const directory = dataDir();
        const port = await findFreePort();
        const base = `http://127.0.0.1:${port}`;
        const env = { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: directory };
        const first = spawnGateway([BUILT_MAIN], env);
        await readyOrOutput(first, base, 'the first gateway is ready');
        first.signal('SIGTERM');
        expect(await first.waitForExit()).toEqual({ code: 0, signal: null });

        const second = spawnGateway([BUILT_MAIN], env);
        await readyOrOutput(second, base, 'the restarted gateway is ready');

        expect(logMessages(second)).not.toContainEqual(
          expect.stringMatching(/Created the embedded database/),
        );
        expect(second.stdout).not.toContain('initdb');
        expect(residentMiB(second.pid!)).toBeLessThanOrEqual(EMBEDDED_RSS_LIMIT_MIB);
      },
      2 * START_DEADLINE_MS,
    );
  });

  describe('data in DATA_DIR', () => {
    it('survives a restart on the same DATA_DIR', async () => {
      const directory = dataDir();
      const customerId = randomUUID();

      const first = await startInProcessApp({ dataDir: directory, env: { LOG_LEVEL: 'silent' } });
      let deviceId: string;
      try {
        const device = await first.app.get(DeviceRepository).create({
          customerId,
          name: 'survives restarts',
          serial: 'SN-RESTART-1',
          secretHash: 'hash-not-checked-here',
        });
        deviceId = device.id;
        await first.app.get(AuditLogRepository).append({
          actor: `customer:${customerId}`,
          action: 'device.created',
          subjectType: 'device',
          subjectId: device.id,
          customerId,
          details: { serial: 'SN-RESTART-1' },
        });
      } finally {
        await first.close();
      }

      const second = await startInProcessApp({ dataDir: directory, env: { LOG_LEVEL: 'silent' } });
      try {
        const device = await second.app.get(DeviceRepository).findById(deviceId);
        const events = await second.app
          .get(AuditLogRepository)
          .listForSubject({ subjectType: 'device', subjectId: deviceId, limit: 10 });

        expect(device).toMatchObject({
          id: deviceId,
          customerId,
          name: 'survives restarts',
          serial: 'SN-RESTART-1',
        });
        expect(events).toEqual([
          expect.objectContaining({
            actor: `customer:${customerId}`,
            action: 'device.created',
            subjectId: deviceId,
            details: { serial: 'SN-RESTART-1' },
          }),
        ]);
      } finally {
        await second.close();
      }
    }, 60_000);
  });

  describe('SIGTERM during a slow request', () => {
    const DRAIN_DELAY_MS = 1_500;
    /** Longer than the drain delay, so the request is still running when the listener closes. */
    const SLOW_REQUEST_MS = 4_000;
    let gateway: ManagedProcess;
    let base: string;

    beforeAll(async () => {
      const port = await findFreePort();
      base = `http://127.0.0.1:${port}`;
      gateway = spawnGateway(
        ['-r', 'ts-node/register/transpile-only', join('test', 'support', 'slow-gateway.ts')],
        {
          PORT: String(port),
          HOST: '127.0.0.1',
          DATA_DIR: dataDir(),
          SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
          SHUTDOWN_GRACE_MS: '20000',
        },
      );
      await readyOrOutput(gateway, base, 'the slow gateway is ready');
    }, START_DEADLINE_MS + 5_000);

    it('turns unready, finishes the request with 200, then exits 0', async () => {
      const slow = httpGet(`${base}/test/slow?ms=${SLOW_REQUEST_MS}`, 30_000);
      await gateway.waitForOutput(new RegExp(SLOW_REQUEST_STARTED));

      gateway.signal('SIGTERM');

      const unready = await eventually(
        'readiness turns 503 during the drain',
        () => httpGet(`${base}/health/ready`),
        (result) => result.status === 503,
        { timeoutMs: DRAIN_DELAY_MS * 2 },
      );
      expect(readinessOf(unready).error?.lifecycle).toEqual({ status: 'down', message: 'shutting down' });
      expect(gateway.running).toBe(true);

      const response = await slow;
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ sleptMs: SLOW_REQUEST_MS });

      const exit = await gateway.waitForExit(20_000);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(gateway.stdout).toContain('Stopped cleanly');
    }, 40_000);
  });
});

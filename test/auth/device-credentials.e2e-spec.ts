// The module object itself (not a namespace copy), so that a spy on it sees the service's calls.
import crypto, { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LoggerService } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { type AuthFailure } from '../../src/auth/auth.errors';
import { AuthSecrets } from '../../src/auth/auth-secrets';
import { DeviceCredentialStore, type StoredDeviceCredential } from '../../src/auth/device-credential.store';
import { DeviceCredentialsService } from '../../src/auth/device-credentials.service';
import { SqlDeviceCredentialStore } from '../../src/auth/storage/sql-device-credential.store';
import { type DevicePrincipal } from '../../src/auth/principal';
import { ConfigModule } from '../../src/config/config.module';
import { SqlDeviceRepository } from '../../src/devices/storage/sql-device.repository';
import { MemoryCache } from '../../src/infra/cache/memory-cache';
import { DatabaseModule } from '../../src/infra/database/database.module';
import { SqlExecutor } from '../../src/infra/database/sql/sql-executor';
import { testConfig } from '../support/test-config';

const quietLogger: LoggerService = { log: () => undefined, warn: () => undefined, error: () => undefined };

interface HeldRead {
  /** Resolves once the database has answered the held read. */
  answered: Promise<void>;
  /** Lets the held read return what the database answered. */
  release(): void;
}

/**
 * The real SQL adapter (on PGlite), counting the reads of each device id, and able to hold one read's
 * answer back after the database gave it, as a slow network would: the window in which a creation can
 * land between what a lookup read and what it returns.
 */
class CountingCredentialStore extends DeviceCredentialStore {
  private readonly readCounts = new Map<string, number>();
  private readonly held = new Map<string, { answered: () => void; released: Promise<void> }>();

  constructor(private readonly inner: DeviceCredentialStore) {
    super();
  }

  readsOf(deviceId: string): number {
    return this.readCounts.get(deviceId) ?? 0;
  }

  holdNextRead(deviceId: string): HeldRead {
    let answered!: () => void;
    let release!: () => void;
    const answeredPromise = new Promise<void>((resolve) => (answered = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held.set(deviceId, { answered, released });
    return { answered: answeredPromise, release };
  }

  async find(id: string): Promise<StoredDeviceCredential | null> {
    this.readCounts.set(id, this.readsOf(id) + 1);
    const credential = await this.inner.find(id);
    const hold = this.held.get(id);
    if (hold) {
      this.held.delete(id);
      hold.answered();
      await hold.released;
    }
    return credential;
  }

  listRevokedSince(since: Date, limit: number): Promise<string[]> {
    return this.inner.listRevokedSince(since, limit);
  }
}

/** MemoryCache delivers each message in a setImmediate queued at publish: one queued later runs after. */
const broadcastsDelivered = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const reasonOf = (result: DevicePrincipal | AuthFailure): string =>
  'reason' in result ? result.reason : 'accepted';

/**
 * DeviceCredentialsService on the real SQL adapter (PGlite) and the real in-memory cache, two instances of
 * it sharing both, as two gateways share the database and Redis: what it reads, remembers and forgets.
 */
describe('device credential lookups', () => {
  const pepper = 'test-pepper-0123456789abcdef0123456789abcdef';
  const secrets = new AuthSecrets(pepper, null);
  let dataDir: string;
  let storage: TestingModule;
  let sql: SqlExecutor;
  let devices: SqlDeviceRepository;
  let cache: MemoryCache;
  const started: DeviceCredentialsService[] = [];

  /** One gateway instance's credentials service, with its own read counter, on the shared database and cache. */
  async function instance(env: Record<string, string> = {}): Promise<{
    credentials: DeviceCredentialsService;
    reads: CountingCredentialStore;
  }> {
    const reads = new CountingCredentialStore(new SqlDeviceCredentialStore(sql));
    const config = testConfig({ DATA_BACKEND: 'embedded', DATA_DIR: dataDir, ...env });
    const credentials = new DeviceCredentialsService(config, secrets, reads, cache);
    await credentials.onModuleInit();
    started.push(credentials);
    return { credentials, reads };
  }

  /** A device row with an id chosen in advance, as no client can know one: a creation to race against. */
  async function insertDevice(credentials: DeviceCredentialsService, id: string, secret: string) {
    await sql.query(
      `insert into public.devices (id, customer_id, name, secret_hash) values ($1, $2, 'pi', $3)`,
      [id, randomUUID(), credentials.hashSecret(secret)],
    );
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gateway-credentials-'));
    const config = testConfig({ DATA_BACKEND: 'embedded', DATA_DIR: dataDir });
    storage = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), DatabaseModule.forRoot(config.DATA_BACKEND)],
    })
      .setLogger(quietLogger)
      .compile();
    sql = storage.get(SqlExecutor);
    devices = new SqlDeviceRepository(sql);
  }, 60_000);

  beforeEach(() => {
    cache = new MemoryCache();
  });

  afterEach(async () => {
    for (const credentials of started.splice(0)) await credentials.onModuleDestroy();
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  afterAll(async () => {
    await storage?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reads the database once for an unknown id tried again and again within the TTL', async () => {
    const { credentials, reads } = await instance();
    const unknownId = randomUUID();

    for (let attempt = 0; attempt < 20; attempt += 1) {
      expect(reasonOf(await credentials.verify(unknownId, 'guess'))).toBe('unknown_device');
    }
    // Upper-case hex is the same id: it must not be a way around the cache.
    expect(reasonOf(await credentials.verify(unknownId.toUpperCase(), 'guess'))).toBe('unknown_device');

    expect(reads.readsOf(unknownId)).toBe(1);
  });

  it('shares one database read among concurrent attempts with one unknown id', async () => {
    const { credentials, reads } = await instance();
    const unknownId = randomUUID();

    const results = await Promise.all(
      Array.from({ length: 20 }, async () => credentials.verify(unknownId, 'guess')),
    );

    expect(results.map(reasonOf)).toEqual(Array(20).fill('unknown_device'));
    expect(reads.readsOf(unknownId)).toBe(1);
  });

  it('remembers a revoked id as revoked, and a known id with a wrong secret as well, one read each', async () => {
    const { credentials, reads } = await instance();
    const revokedSecret = credentials.generateSecret();
    const revoked = await devices.create({
      customerId: randomUUID(),
      name: 'revoked',
      serial: null,
      secretHash: credentials.hashSecret(revokedSecret),
    });
    await devices.revoke(revoked.id);
    const live = await devices.create({
      customerId: randomUUID(),
      name: 'live',
      serial: null,
      secretHash: credentials.hashSecret(credentials.generateSecret()),
    });

    for (let attempt = 0; attempt < 5; attempt += 1) {
      expect(reasonOf(await credentials.verify(revoked.id, revokedSecret))).toBe('revoked');
      expect(reasonOf(await credentials.verify(live.id, 'wrong'))).toBe('wrong_secret');
    }

    expect(reads.readsOf(revoked.id)).toBe(1);
    expect(reads.readsOf(live.id)).toBe(1);
  });

  it('digests the secret and compares it in constant time on every path, refused ids included', async () => {
    const { credentials } = await instance();
    const secret = credentials.generateSecret();
    const live = await devices.create({
      customerId: randomUUID(),
      name: 'live',
      serial: null,
      secretHash: credentials.hashSecret(secret),
    });
    const revoked = await devices.create({
      customerId: randomUUID(),
      name: 'revoked',
      serial: null,
      secretHash: credentials.hashSecret(secret),
    });
    await devices.revoke(revoked.id);
    const unknownId = randomUUID();
    const hmacs = jest.spyOn(crypto, 'createHmac');
    const comparisons = jest.spyOn(crypto, 'timingSafeEqual');

    const work: Record<string, [number, number]> = {};
    const attempts: [string, string, string][] = [
      ['unknown, first read', unknownId, secret],
      ['unknown, remembered', unknownId, secret],
      ['revoked, first read', revoked.id, secret],
      ['revoked, remembered', revoked.id, secret],
      ['wrong secret, first read', live.id, 'wrong'],
      ['wrong secret, remembered', live.id, 'wrong'],
      ['accepted', live.id, secret],
    ];
    for (const [label, id, presented] of attempts) {
      const [hmacsBefore, comparisonsBefore] = [hmacs.mock.calls.length, comparisons.mock.calls.length];
      await credentials.verify(id, presented);
      work[label] = [
        hmacs.mock.calls.length - hmacsBefore,
        comparisons.mock.calls.length - comparisonsBefore,
      ];
    }

    expect(work).toEqual(Object.fromEntries(attempts.map(([label]) => [label, [1, 1]])));
  });

  it('accepts a device another instance created right after this one refused its id', async () => {
    const a = await instance();
    const b = await instance();
    const deviceId = randomUUID();
    const secret = a.credentials.generateSecret();
    expect(reasonOf(await a.credentials.verify(deviceId, secret))).toBe('unknown_device');

    await insertDevice(b.credentials, deviceId, secret);
    // Without a word from the creating instance, A goes on answering from what it remembers...
    expect(reasonOf(await a.credentials.verify(deviceId, secret))).toBe('unknown_device');
    expect(a.reads.readsOf(deviceId)).toBe(1);
    // ... which the creation broadcast makes it forget.
    await b.credentials.announceCreation(deviceId);
    await broadcastsDelivered();

    expect(await a.credentials.verify(deviceId, secret)).toMatchObject({ kind: 'device', deviceId });
    expect(a.reads.readsOf(deviceId)).toBe(2);
  });

  it('does not remember an unknown id read just before a creation broadcast arrived', async () => {
    const a = await instance();
    const b = await instance();
    const deviceId = randomUUID();
    const secret = a.credentials.generateSecret();
    const held = a.reads.holdNextRead(deviceId);
    const early = a.credentials.verify(deviceId, secret);
    await held.answered;

    await insertDevice(b.credentials, deviceId, secret);
    await b.credentials.announceCreation(deviceId);
    await broadcastsDelivered();
    held.release();

    // The attempt that read before the device existed is refused: that was true when it looked.
    expect(reasonOf(await early)).toBe('unknown_device');
    expect(await a.credentials.verify(deviceId, secret)).toMatchObject({ kind: 'device', deviceId });
    expect(a.reads.readsOf(deviceId)).toBe(2);
  });

  it('does not let an attempt made after a creation broadcast join a read that started before it', async () => {
    const a = await instance();
    const b = await instance();
    const deviceId = randomUUID();
    const secret = a.credentials.generateSecret();
    const held = a.reads.holdNextRead(deviceId);
    const early = a.credentials.verify(deviceId, secret);
    await held.answered;
    await insertDevice(b.credentials, deviceId, secret);
    await b.credentials.announceCreation(deviceId);
    await broadcastsDelivered();

    const late = a.credentials.verify(deviceId, secret);
    try {
      // A read of its own, answered while the older one is still held back.
      expect(a.reads.readsOf(deviceId)).toBe(2);
      expect(await late).toMatchObject({ kind: 'device', deviceId });
    } finally {
      held.release();
    }
    expect(reasonOf(await early)).toBe('unknown_device');
  });

  it('bounds what it remembers, verified and refused ids alike, the oldest read going first', async () => {
    const { credentials, reads } = await instance({ DEVICE_AUTH_CACHE_MAX_ENTRIES: '3' });
    const secret = credentials.generateSecret();
    const known = await devices.create({
      customerId: randomUUID(),
      name: 'known',
      serial: null,
      secretHash: credentials.hashSecret(secret),
    });
    const sprayed = [randomUUID(), randomUUID(), randomUUID()];

    await credentials.verify(known.id, secret);
    for (const id of sprayed) await credentials.verify(id, 'guess');
    // The known device was read first, so a spray of unknown ids pushed it out like any other entry:
    // whether an id is still remembered says nothing about whether it exists.
    expect(await credentials.verify(known.id, secret)).toMatchObject({ kind: 'device' });
    expect(reads.readsOf(known.id)).toBe(2);
    // Reading it again pushed out the oldest unknown id; the newest is still remembered.
    await credentials.verify(sprayed[0] as string, 'guess');
    await credentials.verify(sprayed[2] as string, 'guess');
    expect(sprayed.map((id) => reads.readsOf(id))).toEqual([2, 1, 1]);
  });

  it('reads an unknown id again once the TTL has passed', async () => {
    const { credentials, reads } = await instance({ DEVICE_AUTH_CACHE_TTL_MS: '60000' });
    const unknownId = randomUUID();
    // Only the clock is faked: the database and the cache run on real timers.
    jest.useFakeTimers({
      now: Date.now(),
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'requestAnimationFrame',
        'cancelAnimationFrame',
        'requestIdleCallback',
        'cancelIdleCallback',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });

    await credentials.verify(unknownId, 'guess');
    jest.setSystemTime(Date.now() + 59_000);
    await credentials.verify(unknownId, 'guess');
    expect(reads.readsOf(unknownId)).toBe(1);
    jest.setSystemTime(Date.now() + 2_000);
    await credentials.verify(unknownId, 'guess');
    expect(reads.readsOf(unknownId)).toBe(2);
  });

  it('reads the database on every attempt when the TTL is 0', async () => {
    const { credentials, reads } = await instance({ DEVICE_AUTH_CACHE_TTL_MS: '0' });
    const unknownId = randomUUID();

    for (let attempt = 0; attempt < 3; attempt += 1) await credentials.verify(unknownId, 'guess');

    expect(reads.readsOf(unknownId)).toBe(3);
  });
});

import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  InMemoryDeviceCredentialStore,
  InMemoryDeviceRepository,
} from '../../test/support/in-memory-storage';
import { loadConfig } from '../config/app-config';
import { MemoryCache } from '../infra/cache/memory-cache';
import { type AuthFailure } from './auth.errors';
import { AuthSecrets } from './auth-secrets';
import { DeviceCredentialsService } from './device-credentials.service';
import { type DevicePrincipal } from './principal';

/** A memory cache whose connection can be "lost and resumed", as Redis's can: broadcasts meanwhile were missed. */
class ResumableCache extends MemoryCache {
  private readonly resumeListeners: ((lostAt: Date) => void)[] = [];

  /** Optional only because MemoryCache, which never calls it, declares no parameter. */
  override onSubscriptionsResumed(listener?: (lostAt: Date) => void): void {
    if (listener) this.resumeListeners.push(listener);
  }

  resume(lostAt: Date): void {
    for (const listener of this.resumeListeners) listener(lostAt);
  }
}

/** MemoryCache delivers each message in a setImmediate queued at publish: one queued later runs after. */
const broadcastsDelivered = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const reasonOf = (result: DevicePrincipal | AuthFailure): string =>
  'reason' in result ? result.reason : 'accepted';

/**
 * What the e2e suite (test/auth/device-credentials.e2e-spec.ts) leaves out: revocations racing lookups,
 * lost broadcasts and the catch-up after them, the TTL of a verified device, the order of the bound, and
 * the refusals that never reach the database.
 */
describe('DeviceCredentialsService', () => {
  const secrets = new AuthSecrets('unit-pepper-0123456789abcdef0123456789abcdef', null);
  const started: DeviceCredentialsService[] = [];
  let devices: InMemoryDeviceRepository;
  let cache: ResumableCache;

  async function instance(env: Record<string, string> = {}): Promise<DeviceCredentialsService> {
    const credentials = new DeviceCredentialsService(
      loadConfig({ LOG_LEVEL: 'silent', ...env }),
      secrets,
      new InMemoryDeviceCredentialStore(devices),
      cache,
    );
    await credentials.onModuleInit();
    started.push(credentials);
    return credentials;
  }

  function liveDevice(credentials: DeviceCredentialsService): { id: string; secret: string } {
    const secret = credentials.generateSecret();
    const { id } = devices.put({ secretHash: credentials.hashSecret(secret) });
    return { id, secret };
  }

  beforeEach(() => {
    devices = new InMemoryDeviceRepository();
    cache = new ResumableCache();
  });

  afterEach(async () => {
    jest.useRealTimers();
    jest.restoreAllMocks();
    for (const credentials of started.splice(0)) await credentials.onModuleDestroy();
  });

  describe('refusals', () => {
    it('refuses an id that is not a UUID without reading the database', async () => {
      const credentials = await instance();

      const result = await credentials.verify('1; drop table devices', 'secret');

      expect(result).toMatchObject({ reason: 'malformed' });
      expect(devices.readsOf('1; drop table devices')).toBe(0);
    });

    it('refuses an unknown and a revoked id whatever the secret, and a wrong secret for a live one', async () => {
      const credentials = await instance();
      const live = liveDevice(credentials);
      const revoked = liveDevice(credentials);
      await devices.revoke(revoked.id);

      expect(reasonOf(await credentials.verify(randomUUID(), live.secret))).toBe('unknown_device');
      expect(reasonOf(await credentials.verify(revoked.id, revoked.secret))).toBe('revoked');
      expect(reasonOf(await credentials.verify(live.id, revoked.secret))).toBe('wrong_secret');
      expect(await credentials.verify(live.id.toUpperCase(), live.secret)).toEqual({
        kind: 'device',
        deviceId: live.id,
        customerId: devices.peek(live.id)?.customerId,
      });
    });

    it('refuses a stored hash of a scheme it cannot read, even given the exact stored text', async () => {
      const credentials = await instance();
      const { id } = devices.put({ secretHash: 'bcrypt$2b$10$abcdefghijklmnopqrstuv' });

      expect(reasonOf(await credentials.verify(id, 'bcrypt$2b$10$abcdefghijklmnopqrstuv'))).toBe('malformed');
    });
  });

  describe('revocations racing lookups', () => {
    it('does not remember a verified device read just before this instance revoked it', async () => {
      const credentials = await instance();
      const device = liveDevice(credentials);
      const held = devices.holdNextRead(device.id);
      const early = credentials.verify(device.id, device.secret);
      await held.answered;

      await devices.revoke(device.id);
      await credentials.revoke(device.id);
      held.release();

      // The attempt that read before the revocation is answered from what it read, true when it looked...
      expect(reasonOf(await early)).toBe('accepted');
      // ... but that answer is not kept: the next attempt reads again and finds the revocation.
      expect(reasonOf(await credentials.verify(device.id, device.secret))).toBe('revoked');
      expect(devices.readsOf(device.id)).toBe(2);
    });

    it('does not remember a verified device read just before another instance’s revocation arrived', async () => {
      const reader = await instance();
      const revoker = await instance();
      const device = liveDevice(reader);
      const held = devices.holdNextRead(device.id);
      const early = reader.verify(device.id, device.secret);
      await held.answered;

      await devices.revoke(device.id);
      await revoker.revoke(device.id);
      await broadcastsDelivered();
      held.release();

      expect(reasonOf(await early)).toBe('accepted');
      expect(reasonOf(await reader.verify(device.id, device.secret))).toBe('revoked');
      expect(devices.readsOf(device.id)).toBe(2);
    });

    it('does not let an attempt made after a revocation join a read that started before it', async () => {
      const credentials = await instance();
      const device = liveDevice(credentials);
      const held = devices.holdNextRead(device.id);
      const early = credentials.verify(device.id, device.secret);
      await held.answered;
      await devices.revoke(device.id);
      await credentials.revoke(device.id);

      const late = credentials.verify(device.id, device.secret);
      try {
        // A read of its own, started at once: joined to the held one it would wait for that one.
        expect(devices.readsOf(device.id)).toBe(2);
      } finally {
        held.release();
      }
      expect(reasonOf(await late)).toBe('revoked');
      await early;
    });

    it('forgets a remembered device on every instance when one revokes it, and tells their listeners', async () => {
      const a = await instance();
      const b = await instance();
      const device = liveDevice(a);
      expect(reasonOf(await a.verify(device.id, device.secret))).toBe('accepted');
      expect(reasonOf(await b.verify(device.id, device.secret))).toBe('accepted');
      const heardByA: string[] = [];
      const heardByB: string[] = [];
      a.onRevoked((id) => heardByA.push(id));
      const stopListening = b.onRevoked((id) => heardByB.push(id));

      await devices.revoke(device.id);
      await a.revoke(device.id);
      await broadcastsDelivered();

      expect(heardByA).toContain(device.id);
      expect(heardByB).toEqual([device.id]);
      expect(reasonOf(await a.verify(device.id, device.secret))).toBe('revoked');
      expect(reasonOf(await b.verify(device.id, device.secret))).toBe('revoked');
      // A listener that stopped listening hears no more.
      stopListening();
      const other = liveDevice(a);
      await a.revoke(other.id);
      await broadcastsDelivered();
      expect(heardByB).toEqual([device.id]);
    });
  });

  describe('after broadcasts were missed', () => {
    it('forgets everything it remembered once subscriptions resume', async () => {
      const credentials = await instance();
      const device = liveDevice(credentials);
      const unknownId = randomUUID();
      await credentials.verify(device.id, device.secret);
      await credentials.verify(unknownId, 'guess');
      // Revoked and created while the cache connection was down: no broadcast reached this instance.
      await devices.revoke(device.id);
      const created = devices.put({ id: unknownId, secretHash: credentials.hashSecret('guess') });
      expect(reasonOf(await credentials.verify(device.id, device.secret))).toBe('accepted');

      cache.resume(new Date());

      expect(reasonOf(await credentials.verify(device.id, device.secret))).toBe('revoked');
      expect(reasonOf(await credentials.verify(created.id, 'guess'))).toBe('accepted');
    });

    it('tells its listeners of every device revoked since shortly before the connection was lost', async () => {
      jest.useFakeTimers({ now: Date.parse('2026-12-01T12:00:00.000Z'), doNotFake: ['setImmediate'] });
      const credentials = await instance();
      const longAgo = liveDevice(credentials);
      const justBefore = liveDevice(credentials);
      const meanwhile = liveDevice(credentials);
      const lostAt = Date.now() + 60_000;
      await devices.revoke(longAgo.id);
      jest.setSystemTime(lostAt - 5_000);
      await devices.revoke(justBefore.id);
      jest.setSystemTime(lostAt + 30_000);
      await devices.revoke(meanwhile.id);
      const heard: string[] = [];
      credentials.onRevoked((id) => heard.push(id));

      cache.resume(new Date(lostAt));
      await broadcastsDelivered();

      // A revocation a little before the loss counts too (clocks differ); one long before was heard then.
      expect(heard).toEqual([justBefore.id, meanwhile.id]);
    });

    it('does not remember what a read that overlapped the resumption found', async () => {
      const credentials = await instance();
      const device = liveDevice(credentials);
      const held = devices.holdNextRead(device.id);
      const early = credentials.verify(device.id, device.secret);
      await held.answered;

      cache.resume(new Date());
      held.release();

      expect(reasonOf(await early)).toBe('accepted');
      await credentials.verify(device.id, device.secret);
      expect(devices.readsOf(device.id)).toBe(2);
    });

    it('keeps answering when the catch-up cannot read the database', async () => {
      const warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const credentials = await instance();
      jest.spyOn(devices, 'revokedSince').mockRejectedValue(new Error('connection refused'));
      const device = liveDevice(credentials);

      cache.resume(new Date());
      await broadcastsDelivered();

      expect(reasonOf(await credentials.verify(device.id, device.secret))).toBe('accepted');
      expect(warnings).toHaveBeenCalledWith(expect.stringContaining('Could not catch up on revocations'));
    });
  });

  describe('what it remembers', () => {
    it('trusts a verified device for DEVICE_AUTH_CACHE_TTL_MS, then reads it again', async () => {
      jest.useFakeTimers({ now: Date.parse('2026-12-01T12:00:00.000Z') });
      const credentials = await instance({ DEVICE_AUTH_CACHE_TTL_MS: '60000' });
      const device = liveDevice(credentials);
      const readAt = Date.now();
      await credentials.verify(device.id, device.secret);
      // A revocation whose broadcast was lost: only the TTL bounds how long it goes unnoticed.
      await devices.revoke(device.id);

      jest.setSystemTime(readAt + 59_999);
      expect(reasonOf(await credentials.verify(device.id, device.secret))).toBe('accepted');
      jest.setSystemTime(readAt + 60_000);
      expect(reasonOf(await credentials.verify(device.id, device.secret))).toBe('revoked');
      expect(devices.readsOf(device.id)).toBe(2);
    });

    it('evicts the least recently read id first: reading an expired id again moves it to the back', async () => {
      jest.useFakeTimers({ now: Date.parse('2026-12-01T12:00:00.000Z') });
      const credentials = await instance({
        DEVICE_AUTH_CACHE_MAX_ENTRIES: '3',
        DEVICE_AUTH_CACHE_TTL_MS: '1000',
      });
      const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()] as const;
      await credentials.verify(a, 'guess');
      jest.setSystemTime(Date.now() + 500);
      await credentials.verify(b, 'guess');
      // A expired and is read again: it is now the newest entry, B the oldest.
      jest.setSystemTime(Date.now() + 600);
      await credentials.verify(a, 'guess');
      await credentials.verify(c, 'guess');
      // Over the bound: B goes, not A.
      await credentials.verify(d, 'guess');

      await credentials.verify(a, 'guess');
      await credentials.verify(b, 'guess');

      expect([a, b, c, d].map((id) => devices.readsOf(id))).toEqual([2, 2, 1, 1]);
    });
  });
});

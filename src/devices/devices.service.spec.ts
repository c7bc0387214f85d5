import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  InMemoryAuditLogRepository,
  InMemoryDeviceCredentialStore,
  InMemoryDeviceRepository,
} from '../../test/support/in-memory-storage';
import { customerPrincipal } from '../../test/support/principals';
import { ForbiddenError } from '../common/errors/common.errors';
import { AuthSecrets } from '../auth/auth-secrets';
import { type CustomerPrincipal } from '../auth/principal';
import { DeviceCredentialsService } from '../auth/device-credentials.service';
import { loadConfig } from '../config/app-config';
import { MemoryCache } from '../infra/cache/memory-cache';
import { MemoryPresenceStore } from './presence/memory-presence.store';
import { MetricsService } from '../infra/metrics/metrics.service';
import { HeartbeatFlusher } from './presence/heartbeat-flusher';
import { PresenceEvents } from './presence/presence-events';
import { PresenceService } from './presence/presence.service';
import { DeviceNotFoundError, DeviceSerialTakenError } from './devices.errors';
import { DevicesService } from './devices.service';
import { DeviceRevocations } from './device-revocations';

const customer = customerPrincipal;

/** A cache whose broadcasts fail, as Redis does while it is away. */
class BroadcastFailingCache extends MemoryCache {
  override publish(): Promise<void> {
    return Promise.reject(new Error('Connection is closed.'));
  }
}

/** A presence store that cannot be written, as Redis is while it is away. */
class UnwritablePresenceStore extends MemoryPresenceStore {
  override forget(): Promise<void> {
    return Promise.reject(new Error('Connection is closed.'));
  }
}

describe('DevicesService', () => {
  const config = loadConfig({ LOG_LEVEL: 'silent' });
  const secrets = new AuthSecrets('unit-pepper-0123456789abcdef0123456789abcdef', null);

  function build(collaborators: { cache?: MemoryCache; presenceStore?: MemoryPresenceStore } = {}) {
    const devices = new InMemoryDeviceRepository();
    const audit = new InMemoryAuditLogRepository();
    const presenceStore = collaborators.presenceStore ?? new MemoryPresenceStore();
    const credentials = new DeviceCredentialsService(
      config,
      secrets,
      new InMemoryDeviceCredentialStore(devices),
      collaborators.cache ?? new MemoryCache(),
    );
    const metrics = new MetricsService();
    const presence = new PresenceService(
      config,
      presenceStore,
      devices,
      new PresenceEvents(),
      metrics,
      new HeartbeatFlusher(config, devices, metrics),
    );
    const revocations = new DeviceRevocations();
    const service = new DevicesService(devices, credentials, presence, audit, revocations);
    return { service, devices, audit, credentials, presence, presenceStore, revocations };
  }

  let warnings: jest.SpyInstance;

  beforeEach(() => {
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('create', () => {
    it('returns the secret once and stores only its hash, which then verifies', async () => {
      const { service, devices, credentials } = build();
      const owner = customer();

      const created = await service.create(owner, { name: 'Office router', serial: 'SN-1' });

      const stored = devices.peek(created.device.id);
      expect(stored?.secretHash).toBe(credentials.hashSecret(created.credentials.secret));
      expect(stored?.secretHash).not.toContain(created.credentials.secret);
      expect(created.credentials.deviceId).toBe(created.device.id);
      expect(created.device).not.toHaveProperty('secretHash');
      expect(JSON.stringify(created.device)).not.toContain(created.credentials.secret);
      expect(created.device).toMatchObject({
        customerId: owner.userId,
        name: 'Office router',
        serial: 'SN-1',
        presence: { state: 'unknown', lastSeenAt: null, lastHeartbeat: null },
      });
      await expect(credentials.verify(created.device.id, created.credentials.secret)).resolves.toEqual({
        kind: 'device',
        deviceId: created.device.id,
        customerId: owner.userId,
      });
      // Nothing the service answers later carries the secret again.
      const read = await service.get(owner, created.device.id);
      expect(JSON.stringify(read)).not.toContain(created.credentials.secret);
      expect(read).not.toHaveProperty('secretHash');
    });

    it('gives every device a secret of its own', async () => {
      const { service } = build();
      const owner = customer();

      const first = await service.create(owner, { name: 'a' });
      const second = await service.create(owner, { name: 'b' });

      expect(first.credentials.secret).not.toBe(second.credentials.secret);
      expect(Buffer.from(first.credentials.secret, 'base64url')).toHaveLength(32);
    });

    it('records the creation in the audit log, without the secret', async () => {
      const { service, audit } = build();
      const owner = customer();

      const created = await service.create(owner, { name: 'Office router', serial: 'SN-7' });

      expect(audit.events).toEqual([
        expect.objectContaining({
          actor: `customer:${owner.userId}`,
          action: 'device.created',
          subjectType: 'device',
          subjectId: created.device.id,
          customerId: owner.userId,
          details: { name: 'Office router', serial: 'SN-7' },
        }),
      ]);
      expect(JSON.stringify(audit.events)).not.toContain(created.credentials.secret);
    });

    it('refuses a second live device with the same serial for one customer, and records nothing', async () => {
      const { service, audit } = build();
      const owner = customer();
      await service.create(owner, { name: 'first', serial: 'SN-DUP' });

      await expect(service.create(owner, { name: 'second', serial: 'SN-DUP' })).rejects.toBeInstanceOf(
        DeviceSerialTakenError,
      );
      // Another customer's serials are its own.
      await expect(service.create(customer(), { name: 'theirs', serial: 'SN-DUP' })).resolves.toBeDefined();
      expect(audit.events.map((event) => event.details)).toEqual([
        { name: 'first', serial: 'SN-DUP' },
        { name: 'theirs', serial: 'SN-DUP' },
      ]);
    });

    it('accepts the new device even when its creation cannot be broadcast', async () => {
      const { service, credentials } = build({ cache: new BroadcastFailingCache() });

      const created = await service.create(customer(), { name: 'Office router' });

      await expect(credentials.verify(created.device.id, created.credentials.secret)).resolves.toMatchObject({
        kind: 'device',
      });
      expect(warnings).toHaveBeenCalledWith(expect.stringContaining('not broadcast'));
    });
  });

  describe('reads', () => {
    it('lets an admin read every customer’s devices, and a customer only its own', async () => {
      const { service } = build();
      const alice = customer();
      const bob = customer();
      const admin = customer({ isAdmin: true });
      const alices = await service.create(alice, { name: 'alice' });
      const bobs = await service.create(bob, { name: 'bob' });

      const ids = async (who: CustomerPrincipal) =>
        (await service.list(who, { limit: 50 })).items.map((item) => item.id);

      expect(await ids(alice)).toEqual([alices.device.id]);
      expect(await ids(bob)).toEqual([bobs.device.id]);
      expect(await ids(admin)).toEqual([alices.device.id, bobs.device.id]);
      await expect(service.get(admin, bobs.device.id)).resolves.toMatchObject({ customerId: bob.userId });
    });

    it('answers "not found", never "forbidden", for another customer’s device', async () => {
      const { service } = build();
      const alice = customer();
      const bob = customer();
      const bobs = await service.create(bob, { name: 'bob' });

      await expect(service.get(alice, bobs.device.id)).rejects.toBeInstanceOf(DeviceNotFoundError);
      await expect(service.rename(alice, bobs.device.id, { name: 'mine' })).rejects.toBeInstanceOf(
        DeviceNotFoundError,
      );
      await expect(service.remove(alice, bobs.device.id)).rejects.toBeInstanceOf(DeviceNotFoundError);
      // The same answer as for an id that does not exist at all.
      await expect(service.get(alice, randomUUID())).rejects.toBeInstanceOf(DeviceNotFoundError);
      await expect(service.get(bob, bobs.device.id)).resolves.toMatchObject({ name: 'bob' });
    });

    it('lists a device under a state only while its live presence is in it', async () => {
      jest.useFakeTimers({ now: Date.parse('2026-12-01T12:00:00.000Z') });
      try {
        const { service, presence } = build();
        const owner = customer();
        const created = await service.create(owner, { name: 'pi' });
        await presence.connect({ id: created.device.id, customerId: owner.userId });

        const onlineIds = async () =>
          (await service.list(owner, { limit: 50, state: 'online' })).items.map((item) => item.id);
        expect(await onlineIds()).toEqual([created.device.id]);
        // Silent past the stale deadline, before any sweep has moved the row: no longer online.
        jest.setSystemTime(Date.now() + config.HEARTBEAT_INTERVAL_SEC * 1500);
        expect(await onlineIds()).toEqual([]);
      } finally {
        jest.useRealTimers();
      }
    });
  });

  describe('writes', () => {
    it('renames the owner’s device', async () => {
      const { service, devices } = build();
      const owner = customer();
      const created = await service.create(owner, { name: 'old' });

      await expect(service.rename(owner, created.device.id, { name: 'new' })).resolves.toMatchObject({
        id: created.device.id,
        name: 'new',
      });
      expect(devices.peek(created.device.id)?.name).toBe('new');
    });

    it('lets an admin read but not change another customer’s device', async () => {
      const { service, devices } = build();
      const owner = customer();
      const admin = customer({ isAdmin: true });
      const created = await service.create(owner, { name: 'theirs' });

      await expect(service.rename(admin, created.device.id, { name: 'mine' })).rejects.toBeInstanceOf(
        ForbiddenError,
      );
      await expect(service.remove(admin, created.device.id)).rejects.toBeInstanceOf(ForbiddenError);
      expect(devices.peek(created.device.id)).toMatchObject({ name: 'theirs', status: 'provisioned' });
      // Its own devices it changes like any owner.
      const own = await service.create(admin, { name: 'lab' });
      await expect(service.rename(admin, own.device.id, { name: 'lab 2' })).resolves.toMatchObject({
        name: 'lab 2',
      });
    });

    it('revokes on delete: the secret is refused, presence forgotten, listeners told, the event audited', async () => {
      const { service, devices, credentials, presence, presenceStore, audit, revocations } = build();
      const owner = customer();
      const created = await service.create(owner, { name: 'pi' });
      const { id } = created.device;
      const announced: unknown[] = [];
      revocations.onRevoked((revocation) => {
        // The revocation is recorded by the time features hear of it.
        announced.push({ ...revocation, stored: devices.peek(revocation.deviceId)?.status });
        return Promise.resolve();
      });
      // Remembered as verified and online, as a device in use is.
      await expect(credentials.verify(id, created.credentials.secret)).resolves.toMatchObject({
        kind: 'device',
      });
      await presence.connect({ id, customerId: owner.userId });
      const revokedHere: string[] = [];
      credentials.onRevoked((deviceId) => revokedHere.push(deviceId));

      await service.remove(owner, id);

      expect(devices.peek(id)).toMatchObject({ status: 'revoked', revokedAt: expect.any(Date) as Date });
      await expect(credentials.verify(id, created.credentials.secret)).resolves.toMatchObject({
        reason: 'revoked',
      });
      expect(await presenceStore.get([id])).toEqual([null]);
      // Told at once, and again when its own broadcast comes back: the listeners only need to hear it.
      expect([...new Set(revokedHere)]).toEqual([id]);
      expect(announced).toEqual([
        { deviceId: id, customerId: owner.userId, revokedBy: `customer:${owner.userId}`, stored: 'revoked' },
      ]);
      expect(audit.events.map((event) => event.action)).toEqual(['device.created', 'device.revoked']);
      expect(audit.events[1]).toMatchObject({ subjectId: id, customerId: owner.userId });
      // Gone for every later call, the owner's included.
      await expect(service.get(owner, id)).rejects.toBeInstanceOf(DeviceNotFoundError);
      await expect(service.remove(owner, id)).rejects.toBeInstanceOf(DeviceNotFoundError);
      expect(await service.snapshot(id)).toBeNull();
    });

    it('completes a delete whose broadcast, presence cleanup and a revocation listener fail, audit included', async () => {
      const { service, devices, audit, revocations } = build({
        cache: new BroadcastFailingCache(),
        presenceStore: new UnwritablePresenceStore(),
      });
      const owner = customer();
      const created = await service.create(owner, { name: 'pi' });
      const heardAfterTheFailure: string[] = [];
      revocations.onRevoked(() => Promise.reject(new Error('Connection is closed.')));
      revocations.onRevoked((revocation) => {
        heardAfterTheFailure.push(revocation.deviceId);
        return Promise.resolve();
      });

      await expect(service.remove(owner, created.device.id)).resolves.toBeUndefined();

      expect(devices.peek(created.device.id)?.status).toBe('revoked');
      expect(audit.events.map((event) => event.action)).toEqual(['device.created', 'device.revoked']);
      expect(warnings).toHaveBeenCalledWith(expect.stringContaining('not broadcast'));
      expect(warnings).toHaveBeenCalledWith(expect.stringContaining('Could not clear presence'));
      expect(warnings).toHaveBeenCalledWith(expect.stringContaining('listener to the revocation'));
      expect(heardAfterTheFailure).toEqual([created.device.id]);
    });

    it('names the live devices a customer may act on to other features, as its own routes judge them', async () => {
      const { service } = build();
      const owner = customer();
      const admin = customer({ isAdmin: true });
      const created = await service.create(owner, { name: 'pi' });
      const revoked = await service.create(owner, { name: 'old' });
      await service.remove(owner, revoked.device.id);

      await expect(service.actionable(owner, created.device.id)).resolves.toEqual({
        id: created.device.id,
        customerId: owner.userId,
        capabilities: [],
      });
      await expect(service.actionable(customer(), created.device.id)).rejects.toBeInstanceOf(
        DeviceNotFoundError,
      );
      await expect(service.actionable(owner, revoked.device.id)).rejects.toBeInstanceOf(DeviceNotFoundError);
      await expect(service.actionable(admin, created.device.id)).rejects.toBeInstanceOf(ForbiddenError);
    });
  });
});

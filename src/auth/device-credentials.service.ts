import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Cache } from '../infra/cache/cache';
import { AuthFailure, type AuthFailureReason } from './auth.errors';
import { AuthSecrets } from './auth-secrets';
import { DeviceCredentialStore, type StoredDeviceCredential } from './device-credential.store';
import { type DevicePrincipal } from './principal';
import { type MaybePromise, whenReady } from '../common/maybe-promise';
import { isUuid } from '../common/uuid';

const HASH_SCHEME = 'hmac-sha256$';
const REVOCATION_CHANNEL = 'device-revoked';
const CREATION_CHANNEL = 'device-created';
/** Clocks of instances and the database differ a little; a revocation just before the loss counts too. */
const REVOCATION_CATCH_UP_MARGIN_MS = 10_000;
/** Revoked ids one catch-up asks for: more than one instance holds sockets for, so none it could close is left. */
const REVOCATION_CATCH_UP_LIMIT = 200_000;

/** What an instance remembers of a device id it read: the credential to check, or why it is refused. */
type Lookup = VerifiedDevice | RefusedDevice;

interface VerifiedDevice {
  refusal: null;
  secretHash: Buffer;
  customerId: string;
  expiresAt: number;
}

interface RefusedDevice {
  /** Unknown, revoked, or a stored hash this version cannot read: refused whatever the secret. */
  refusal: AuthFailure;
  /** A random digest no secret matches, compared all the same so that a refusal costs what a check does. */
  secretHash: Buffer;
  expiresAt: number;
}

type RevocationListener = (deviceId: string) => void;

/**
 * Device secrets (docs/guide.md#principals-and-authentication): 32 random bytes, shown once, stored as an HMAC-SHA-256 under a server
 * pepper. Secrets are high-entropy, so a fast keyed hash is right; a slow password hash would cap
 * heartbeat throughput.
 *
 * What an instance read of a device id is remembered, found or not, so a client repeating an unknown id
 * makes the database work once per DEVICE_AUTH_CACHE_TTL_MS, not per attempt; and every attempt digests
 * the secret and compares it in constant time, against a dummy for a refused id, so the answer takes as
 * long whether the id exists or not. Revocations and creations are broadcast so that every instance
 * forgets what they change at once.
 */
@Injectable()
export class DeviceCredentialsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(DeviceCredentialsService.name);
  private readonly lookups = new Map<string, Lookup>();
  /** One database read per device id at a time: concurrent attempts with one id share it. */
  private readonly reads = new Map<string, Promise<Lookup>>();
  private readonly revocationListeners = new Set<RevocationListener>();
  private readonly unsubscribes: (() => Promise<void>)[] = [];
  private readonly dummySecretHash = randomBytes(32);
  /**
   * Bumped by every revocation or creation seen, and when broadcasts may have been missed: a read that
   * overlapped one answers its own attempt but is not remembered, since the database may have changed
   * after it looked.
   */
  private invalidations = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly secrets: AuthSecrets,
    private readonly store: DeviceCredentialStore,
    private readonly cache: Cache,
  ) {}

  async onModuleInit(): Promise<void> {
    // Revocations and creations broadcast while the connection was lost were missed: trust nothing read
    // before, and close what this instance holds for devices revoked meanwhile.
    this.cache.onSubscriptionsResumed((lostAt) => {
      this.forgetAll();
      void this.catchUpOnRevocations(lostAt);
    });
    await this.subscribe(REVOCATION_CHANNEL, (deviceId) => {
      this.forgetRevoked(deviceId);
    });
    await this.subscribe(CREATION_CHANNEL, (deviceId) => {
      this.forget(deviceId);
    });
  }

  async onModuleDestroy(): Promise<void> {
    for (const unsubscribe of this.unsubscribes) await unsubscribe().catch(() => undefined);
  }

  generateSecret(): string {
    return randomBytes(32).toString('base64url');
  }

  hashSecret(secret: string): string {
    return `${HASH_SCHEME}${this.digest(secret).toString('base64url')}`;
  }

  /** Synchronous while the device's lookup is remembered (every heartbeat of a known device). */
  verify(presentedId: string, secret: string): MaybePromise<DevicePrincipal | AuthFailure> {
    if (!isUuid(presentedId)) return new AuthFailure('malformed', 'device id is not a UUID');
    const deviceId = presentedId.toLowerCase();
    return whenReady(this.lookUp(deviceId), (lookup) => this.check(deviceId, lookup, secret));
  }

  private check(deviceId: string, lookup: Lookup, secret: string): DevicePrincipal | AuthFailure {
    const presented = this.digest(secret);
    const matches =
      presented.length === lookup.secretHash.length && timingSafeEqual(presented, lookup.secretHash);
    if (lookup.refusal) return lookup.refusal;
    if (!matches) return new AuthFailure('wrong_secret', 'secret does not match');
    return { kind: 'device', deviceId, customerId: lookup.customerId };
  }

  /** Drops the device's credentials on every instance; resolves once the broadcast is sent. */
  async revoke(deviceId: string): Promise<void> {
    this.forgetRevoked(deviceId);
    await this.cache.publish(REVOCATION_CHANNEL, deviceId);
  }

  /**
   * Tells every instance that a device now exists, so one that found no such id a moment ago reads it
   * again; resolves once the broadcast is sent.
   */
  async announceCreation(deviceId: string): Promise<void> {
    this.forget(deviceId);
    await this.cache.publish(CREATION_CHANNEL, deviceId);
  }

  /** Called on every instance, for every revoked device (the realtime layer disconnects its sockets). */
  onRevoked(listener: RevocationListener): () => void {
    this.revocationListeners.add(listener);
    return () => this.revocationListeners.delete(listener);
  }

  private async subscribe(channel: string, handler: (deviceId: string) => void): Promise<void> {
    try {
      this.unsubscribes.push(await this.cache.subscribe(channel, handler));
    } catch (error) {
      // The cache being away at start-up must not stop the gateway; readiness reports the cache.
      this.logger.warn(`Could not subscribe to ${channel} yet: ${String(error)}`);
    }
  }

  private async catchUpOnRevocations(lostAt: Date): Promise<void> {
    const since = new Date(lostAt.getTime() - REVOCATION_CATCH_UP_MARGIN_MS);
    try {
      for (const deviceId of await this.store.listRevokedSince(since, REVOCATION_CATCH_UP_LIMIT)) {
        this.forgetRevoked(deviceId);
      }
    } catch (error) {
      this.logger.warn(`Could not catch up on revocations since ${since.toISOString()}: ${String(error)}`);
    }
  }

  private forgetRevoked(deviceId: string): void {
    this.forget(deviceId);
    for (const listener of this.revocationListeners) listener(deviceId);
  }

  /** The next attempt with this id reads the database, and so does one that would have joined a read. */
  private forget(deviceId: string): void {
    this.lookups.delete(deviceId);
    this.reads.delete(deviceId);
    this.invalidations += 1;
  }

  private forgetAll(): void {
    this.lookups.clear();
    this.reads.clear();
    this.invalidations += 1;
  }

  private digest(secret: string): Buffer {
    return createHmac('sha256', this.secrets.devicePepper).update(secret, 'utf8').digest();
  }

  private lookUp(deviceId: string): Lookup | Promise<Lookup> {
    const remembered = this.lookups.get(deviceId);
    if (remembered && remembered.expiresAt > Date.now()) return remembered;
    const pending = this.reads.get(deviceId);
    if (pending) return pending;
    const read = this.read(deviceId).finally(() => {
      if (this.reads.get(deviceId) === read) this.reads.delete(deviceId);
    });
    this.reads.set(deviceId, read);
    return read;
  }

  private async read(deviceId: string): Promise<Lookup> {
    const invalidationsBefore = this.invalidations;
    const device = await this.store.find(deviceId);
    const expiresAt = Date.now() + this.config.DEVICE_AUTH_CACHE_TTL_MS;
    const lookup = this.lookupOf(device, expiresAt);
    if (this.invalidations === invalidationsBefore) this.remember(deviceId, lookup);
    return lookup;
  }

  private lookupOf(device: StoredDeviceCredential | null, expiresAt: number): Lookup {
    const refused = (reason: AuthFailureReason, detail: string): RefusedDevice => ({
      refusal: new AuthFailure(reason, detail),
      secretHash: this.dummySecretHash,
      expiresAt,
    });
    if (!device) return refused('unknown_device', 'no such device');
    if (device.revoked) return refused('revoked', 'device revoked');
    if (!device.secretHash.startsWith(HASH_SCHEME)) return refused('malformed', 'unknown hash scheme');
    return {
      refusal: null,
      secretHash: Buffer.from(device.secretHash.slice(HASH_SCHEME.length), 'base64url'),
      customerId: device.customerId,
      expiresAt,
    };
  }

  /** Verified and refused ids share one bound, the least recently read going first. */
  private remember(deviceId: string, lookup: Lookup): void {
    if (this.config.DEVICE_AUTH_CACHE_TTL_MS === 0) return;
    // Re-inserted, so that the map's order stays the order of the reads.
    this.lookups.delete(deviceId);
    if (this.lookups.size >= this.config.DEVICE_AUTH_CACHE_MAX_ENTRIES) {
      const oldest = this.lookups.keys().next();
      if (!oldest.done) this.lookups.delete(oldest.value);
    }
    this.lookups.set(deviceId, lookup);
  }
}

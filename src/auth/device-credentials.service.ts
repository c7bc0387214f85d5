import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { DeviceRepository } from '../devices/device.repository';
import { Cache } from '../infra/cache/cache';
import { AuthFailure } from './auth.errors';
import { AuthSecrets } from './auth-secrets';
import { type DevicePrincipal } from './principal';
import { isUuid } from '../common/uuid';

const HASH_SCHEME = 'hmac-sha256$';
const REVOCATION_CHANNEL = 'device-revoked';
/** Bounds the memory of the verification cache; the least recently added entries go first. */
const MAX_CACHED_DEVICES = 200_000;
/** Clocks of instances and the database differ a little; a revocation just before the loss counts too. */
const REVOCATION_CATCH_UP_MARGIN_MS = 10_000;
interface VerifiedDevice {
  secretHash: Buffer;
  customerId: string;
  expiresAt: number;
}

type RevocationListener = (deviceId: string) => void;

/**
 * Device secrets (PRODUCT §2): 32 random bytes, shown once, stored as an HMAC-SHA-256 under a server
 * pepper. Secrets are high-entropy, so a fast keyed hash is right; a slow password hash would cap
 * heartbeat throughput. Verified credentials are cached per instance; a revocation is broadcast so every
 * instance drops the device at once.
 */
@Injectable()
export class DeviceCredentialsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(DeviceCredentialsService.name);
  private readonly verified = new Map<string, VerifiedDevice>();
  private readonly revocationListeners = new Set<RevocationListener>();
  private unsubscribe: (() => Promise<void>) | undefined;
  /** Bumped by every revocation seen; a lookup that overlapped one does not cache what it read. */
  private revocations = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly secrets: AuthSecrets,
    private readonly devices: DeviceRepository,
    private readonly cache: Cache,
  ) {}

  async onModuleInit(): Promise<void> {
    // Revocations broadcast while the connection was lost were missed: trust nothing verified before,
    // and close what this instance holds for devices revoked meanwhile.
    this.cache.onSubscriptionsResumed((lostAt) => {
      this.verified.clear();
      this.revocations += 1;
      void this.catchUpOnRevocations(lostAt);
    });
    try {
      this.unsubscribe = await this.cache.subscribe(REVOCATION_CHANNEL, (deviceId) => {
        this.forget(deviceId);
      });
    } catch (error) {
      // The cache being away at start-up must not stop the gateway; readiness reports the cache.
      this.logger.warn(`Could not subscribe to revocations yet: ${String(error)}`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.unsubscribe?.().catch(() => undefined);
  }

  generateSecret(): string {
    return randomBytes(32).toString('base64url');
  }

  hashSecret(secret: string): string {
    return `${HASH_SCHEME}${this.digest(secret).toString('base64url')}`;
  }

  async verify(presentedId: string, secret: string): Promise<DevicePrincipal | AuthFailure> {
    if (!isUuid(presentedId)) return new AuthFailure('malformed', 'device id is not a UUID');
    const deviceId = presentedId.toLowerCase();
    const known = await this.lookUp(deviceId);
    if (known instanceof AuthFailure) return known;
    const presented = this.digest(secret);
    if (presented.length !== known.secretHash.length || !timingSafeEqual(presented, known.secretHash)) {
      return new AuthFailure('wrong_secret', 'secret does not match');
    }
    return { kind: 'device', deviceId, customerId: known.customerId };
  }

  /** Drops the device's credentials on every instance; resolves once the broadcast is sent. */
  async revoke(deviceId: string): Promise<void> {
    this.forget(deviceId);
    await this.cache.publish(REVOCATION_CHANNEL, deviceId);
  }

  /** Called on every instance, for every revoked device (the realtime layer disconnects its sockets). */
  onRevoked(listener: RevocationListener): () => void {
    this.revocationListeners.add(listener);
    return () => this.revocationListeners.delete(listener);
  }

  private async catchUpOnRevocations(lostAt: Date): Promise<void> {
    const since = new Date(lostAt.getTime() - REVOCATION_CATCH_UP_MARGIN_MS);
    try {
      for (const deviceId of await this.devices.listRevokedSince(since, MAX_CACHED_DEVICES)) {
        this.forget(deviceId);
      }
    } catch (error) {
      this.logger.warn(`Could not catch up on revocations since ${since.toISOString()}: ${String(error)}`);
    }
  }

  private forget(deviceId: string): void {
    this.verified.delete(deviceId);
    this.revocations += 1;
    for (const listener of this.revocationListeners) listener(deviceId);
  }

  private digest(secret: string): Buffer {
    return createHmac('sha256', this.secrets.devicePepper).update(secret, 'utf8').digest();
  }

  private async lookUp(deviceId: string): Promise<VerifiedDevice | AuthFailure> {
    const cached = this.verified.get(deviceId);
    if (cached && cached.expiresAt > Date.now()) return cached;
    const revocationsBefore = this.revocations;
    const device = await this.devices.findById(deviceId);
    if (!device) return new AuthFailure('unknown_device', 'no such device');
    if (device.status === 'revoked') return new AuthFailure('revoked', 'device revoked');
    if (!device.secretHash.startsWith(HASH_SCHEME))
      return new AuthFailure('malformed', 'unknown hash scheme');
    const entry: VerifiedDevice = {
      secretHash: Buffer.from(device.secretHash.slice(HASH_SCHEME.length), 'base64url'),
      customerId: device.customerId,
      expiresAt: Date.now() + this.config.DEVICE_AUTH_CACHE_TTL_MS,
    };
    if (this.revocations !== revocationsBefore) return entry;
    if (this.verified.size >= MAX_CACHED_DEVICES) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    this.verified.set(deviceId, entry);
    return entry;
  }
}

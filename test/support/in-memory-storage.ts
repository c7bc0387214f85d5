import { randomUUID } from 'node:crypto';
import { type AuditEvent, type AuditQuery, type NewAuditEvent } from '../../src/audit/audit-event';
import { AuditLogRepository } from '../../src/audit/audit-log.repository';
import { DeviceCredentialStore, type StoredDeviceCredential } from '../../src/auth/device-credential.store';
import { isUuid } from '../../src/common/uuid';
import {
  type DeviceChanges,
  type DeviceListQuery,
  type DeviceRecord,
  type HeartbeatSign,
  type NewDevice,
  type PresenceState,
} from '../../src/devices/device';
import { DeviceRepository } from '../../src/devices/device.repository';
import { DeviceSerialTakenError } from '../../src/devices/devices.errors';
import { newestSignPerDevice } from '../../src/devices/storage/device-row';
import { decodeCursor, toPage, type Page } from '../../src/infra/database/keyset-cursor';

/** A read held back after the store answered it, as a slow network would hold it. */
export interface HeldRead {
  /** Resolves once the store has answered the held read. */
  answered: Promise<void>;
  /** Lets the held read return what the store answered. */
  release(): void;
}

type Keyset = Pick<DeviceRecord, 'createdAt' | 'id'>;

const byCreation = (a: Keyset, b: Keyset): number =>
  a.createdAt.getTime() - b.createdAt.getTime() || compareIds(a.id, b.id);

const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A deep copy made in this realm: structuredClone builds its Dates in Node's own realm, which jest's
 * `expect.any(Date)` does not recognise.
 */
function copyOf<T>(value: T): T {
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Array.isArray(value)) return value.map(copyOf) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, copyOf(inner)])) as T;
  }
  return value;
}

/**
 * The DeviceRepository port kept in a Map, for unit specs that must do no I/O; the e2e storage contract
 * covers the real adapters. It follows the contract's rules (serials unique per customer among live
 * devices, revoked devices found by id but hidden from listings, keyset pages by creation) and hands out
 * copies, so a caller cannot change what is stored behind the port's back. It also counts the reads of
 * each id and can hold one read's answer back: the window in which a revocation or a creation lands
 * between what a lookup read and what it returns.
 */
export class InMemoryDeviceRepository extends DeviceRepository {
  private readonly records = new Map<string, DeviceRecord>();
  private readonly readCounts = new Map<string, number>();
  private readonly held = new Map<string, { answered: () => void; released: Promise<void> }>();
  private lastStamp = 0;
  /** Every successful update, in order: what reached "the database" and when. */
  readonly updates: { id: string; changes: DeviceChanges }[] = [];
  /** Every batch recordSigns was given, in order. */
  readonly signBatches: HeartbeatSign[][] = [];

  /** Stores a device as given, with defaults for the rest: a row no client could have made (a past sign). */
  put(overrides: Partial<DeviceRecord> = {}): DeviceRecord {
    const now = this.tick();
    const record: DeviceRecord = {
      id: randomUUID(),
      customerId: randomUUID(),
      name: 'Office router',
      serial: null,
      status: 'provisioned',
      secretHash: `hash-${randomUUID()}`,
      agentVersion: null,
      hardware: null,
      capabilities: [],
      presenceState: 'unknown',
      lastSeenAt: null,
      lastHeartbeat: null,
      registeredAt: null,
      revokedAt: null,
      createdAt: now,
      updatedAt: now,
      ...overrides,
    };
    this.records.set(record.id, copyOf(record));
    return copyOf(record);
  }

  /**
   * The store's clock: strictly increasing, as the database's microsecond clock stamps rows, so listings
   * keep creation order and a change is never stamped before the row it changes.
   */
  private tick(): Date {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return new Date(this.lastStamp);
  }

  /** What is stored now, read without counting as a read. */
  peek(id: string): DeviceRecord | undefined {
    const record = this.records.get(id.toLowerCase());
    return record && copyOf(record);
  }

  /** Gives devices one creation time, as concurrent creations in one database microsecond would have. */
  setCreatedAt(deviceIds: readonly string[], createdAt: Date): void {
    for (const id of deviceIds) {
      const record = this.records.get(id);
      if (record) record.createdAt = new Date(createdAt.getTime());
    }
  }

  readsOf(deviceId: string): number {
    return this.readCounts.get(deviceId.toLowerCase()) ?? 0;
  }

  holdNextRead(deviceId: string): HeldRead {
    let answered!: () => void;
    let release!: () => void;
    const answeredPromise = new Promise<void>((resolve) => (answered = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held.set(deviceId.toLowerCase(), { answered, released });
    return { answered: answeredPromise, release };
  }

  create(device: NewDevice): Promise<DeviceRecord> {
    const taken =
      device.serial !== null &&
      [...this.records.values()].some(
        (record) =>
          record.customerId === device.customerId &&
          record.serial === device.serial &&
          record.status !== 'revoked',
      );
    if (taken && device.serial !== null) return Promise.reject(new DeviceSerialTakenError(device.serial));
    return Promise.resolve(this.put({ ...device }));
  }

  async findById(id: string): Promise<DeviceRecord | null> {
    const key = id.toLowerCase();
    this.readCounts.set(key, this.readsOf(key) + 1);
    const record = isUuid(id) ? (this.peek(key) ?? null) : null;
    const hold = this.held.get(key);
    if (hold) {
      this.held.delete(key);
      hold.answered();
      await hold.released;
    }
    return record;
  }

  list(query: DeviceListQuery): Promise<Page<DeviceRecord>> {
    // Inside then(), so that a malformed cursor rejects as the adapters' calls do instead of throwing.
    return Promise.resolve().then(() => {
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const afterRecord = after && { createdAt: new Date(after.createdAt), id: after.id };
      const matching = [...this.records.values()]
        .filter(
          (record) =>
            record.status !== 'revoked' &&
            (query.customerId === undefined || record.customerId === query.customerId) &&
            (query.presenceStates === undefined || query.presenceStates.includes(record.presenceState)) &&
            (afterRecord === undefined || byCreation(record, afterRecord) > 0),
        )
        .sort(byCreation)
        .slice(0, query.limit + 1)
        .map((record) => copyOf(record));
      return toPage(matching, query.limit);
    });
  }

  listByPresence(
    states: readonly PresenceState[],
    page: { afterId?: string; limit: number },
  ): Promise<DeviceRecord[]> {
    const matching = [...this.records.values()]
      .filter(
        (record) =>
          record.status !== 'revoked' &&
          states.includes(record.presenceState) &&
          (page.afterId === undefined || record.id > page.afterId),
      )
      .sort((a, b) => compareIds(a.id, b.id))
      .slice(0, page.limit)
      .map((record) => copyOf(record));
    return Promise.resolve(matching);
  }

  update(id: string, changes: DeviceChanges): Promise<DeviceRecord | null> {
    const record = this.records.get(id.toLowerCase());
    if (!record || record.status === 'revoked') return Promise.resolve(null);
    const updated: DeviceRecord = { ...record, ...copyOf(changes), updatedAt: this.tick() };
    this.records.set(record.id, updated);
    this.updates.push({ id: record.id, changes: copyOf(changes) });
    return Promise.resolve(copyOf(updated));
  }

  recordSigns(signs: readonly HeartbeatSign[]): Promise<void> {
    this.signBatches.push(copyOf([...signs]));
    for (const sign of newestSignPerDevice(signs)) {
      const record = this.records.get(sign.deviceId.toLowerCase());
      if (!record || record.status === 'revoked') continue;
      const lastSeenAt =
        record.lastSeenAt && record.lastSeenAt > sign.seenAt ? record.lastSeenAt : sign.seenAt;
      this.records.set(record.id, {
        ...record,
        lastSeenAt: new Date(lastSeenAt.getTime()),
        lastHeartbeat: copyOf(sign.heartbeat),
        agentVersion: sign.agentVersion ?? record.agentVersion,
        updatedAt: this.tick(),
      });
    }
    return Promise.resolve();
  }

  /** For InMemoryDeviceCredentialStore. */
  revokedSince(since: Date, limit: number): Promise<string[]> {
    const revoked = [...this.records.values()]
      .filter((record) => record.status === 'revoked' && record.revokedAt && record.revokedAt >= since)
      .sort((a, b) => (a.revokedAt?.getTime() ?? 0) - (b.revokedAt?.getTime() ?? 0) || compareIds(a.id, b.id))
      .slice(0, limit)
      .map((record) => record.id);
    return Promise.resolve(revoked);
  }

  revoke(id: string): Promise<DeviceRecord | null> {
    const record = this.records.get(id.toLowerCase());
    if (!record || record.status === 'revoked') return Promise.resolve(null);
    const now = this.tick();
    const revoked: DeviceRecord = { ...record, status: 'revoked', revokedAt: now, updatedAt: now };
    this.records.set(record.id, revoked);
    return Promise.resolve(copyOf(revoked));
  }
}

/**
 * Auth's DeviceCredentialStore port read from an InMemoryDeviceRepository, as the real adapters read the
 * rows the devices feature writes: its reads are the repository's (counted, and held when asked).
 */
export class InMemoryDeviceCredentialStore extends DeviceCredentialStore {
  constructor(private readonly devices: InMemoryDeviceRepository) {
    super();
  }

  async find(deviceId: string): Promise<StoredDeviceCredential | null> {
    const record = await this.devices.findById(deviceId);
    return record
      ? { customerId: record.customerId, revoked: record.status === 'revoked', secretHash: record.secretHash }
      : null;
  }

  listRevokedSince(since: Date, limit: number): Promise<string[]> {
    return this.devices.revokedSince(since, limit);
  }
}

/** The AuditLogRepository port kept in an array, for unit specs. */
export class InMemoryAuditLogRepository extends AuditLogRepository {
  readonly events: AuditEvent[] = [];

  append(event: NewAuditEvent): Promise<AuditEvent> {
    const stored: AuditEvent = {
      ...copyOf(event),
      details: copyOf(event.details ?? {}),
      id: randomUUID(),
      occurredAt: new Date(),
    };
    this.events.push(stored);
    return Promise.resolve(copyOf(stored));
  }

  listForSubject(query: AuditQuery): Promise<AuditEvent[]> {
    return Promise.resolve(
      this.events
        .filter((event) => event.subjectType === query.subjectType && event.subjectId === query.subjectId)
        .slice(0, query.limit)
        .map((event) => copyOf(event)),
    );
  }
}

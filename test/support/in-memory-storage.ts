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
  presenceCountsOf,
  type PresenceState,
} from '../../src/devices/device';
import { DeviceRepository } from '../../src/devices/device.repository';
import { DeviceNotFoundError, DeviceSerialTakenError } from '../../src/devices/devices.errors';
import { signRowsOf } from '../../src/devices/storage/device-row';
import { decodeCursor, toPage, type Page } from '../../src/infra/database/keyset-cursor';
import {
  type CommandChange,
  type CommandCreation,
  type CommandRecord,
  type CommandStatus,
  type NewCommand,
} from '../../src/sessions/commands/command';
import { CommandRepository } from '../../src/sessions/commands/command.repository';
import { COMMAND_TRANSITIONS, OPEN_COMMAND_STATUSES } from '../../src/sessions/commands/command-lifecycle';
import {
  type NewSession,
  type SessionClosing,
  type SessionListQuery,
  type SessionRecord,
} from '../../src/sessions/session';
import { SessionRepository } from '../../src/sessions/session.repository';
import { SessionAlreadyOpenError, SessionClosedError } from '../../src/sessions/sessions.errors';

/** A read held back after the store answered it, as a slow network would hold it. */
export interface HeldRead {
  /** Resolves once the store has answered the held read. */
  answered: Promise<void>;
  /** Lets the held read return what the store answered. */
  release(): void;
}

type Keyset = Pick<DeviceRecord, 'createdAt' | 'id'>;

/** The records of a keyset listing: after the cursor's position, in creation order, one more than a page. */
function pageOf<T extends Keyset>(records: Iterable<T>, query: { cursor?: string; limit: number }): Page<T> {
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const afterRecord = after && { createdAt: new Date(after.createdAt), id: after.id };
  const matching = [...records]
    .filter((record) => afterRecord === undefined || byCreation(record, afterRecord) > 0)
    .sort(byCreation)
    .slice(0, query.limit + 1)
    .map((record) => copyOf(record));
  return toPage(matching, query.limit);
}

/**
 * A store's clock: strictly increasing, as the database's clock stamps rows, so listings keep creation
 * order and a change is never stamped before the row it changes.
 */
class StoreClock {
  private last = 0;

  now(): Date {
    this.last = Math.max(Date.now(), this.last + 1);
    return new Date(this.last);
  }
}

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
  private readonly clock = new StoreClock();
  /** Every successful update, in order: what reached "the database" and when. */
  readonly updates: { id: string; changes: DeviceChanges }[] = [];
  /** Every batch recordSigns was given, in order. */
  readonly signBatches: HeartbeatSign[][] = [];
  /** When the sign that carried each device's stored payload was seen, as the last_heartbeat_at column keeps it. */
  private readonly heartbeatTimes = new Map<string, number>();

  /** Stores a device as given, with defaults for the rest: a row no client could have made (a past sign). */
  put(overrides: Partial<DeviceRecord> = {}): DeviceRecord {
    const now = this.clock.now();
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

  countByPresence(): Promise<Record<PresenceState, number>> {
    const counts = new Map<PresenceState, number>();
    for (const record of this.records.values()) {
      if (record.status !== 'revoked') {
        counts.set(record.presenceState, (counts.get(record.presenceState) ?? 0) + 1);
      }
    }
    return Promise.resolve(
      presenceCountsOf([...counts].map(([state, devices]) => ({ presence_state: state, devices }))),
    );
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
    const updated: DeviceRecord = { ...record, ...copyOf(changes), updatedAt: this.clock.now() };
    this.records.set(record.id, updated);
    this.updates.push({ id: record.id, changes: copyOf(changes) });
    return Promise.resolve(copyOf(updated));
  }

  recordSigns(signs: readonly HeartbeatSign[]): Promise<void> {
    this.signBatches.push(copyOf([...signs]));
    for (const sign of signRowsOf(signs)) {
      const record = this.records.get(sign.id.toLowerCase());
      if (!record || record.status === 'revoked') continue;
      const seenAt = new Date(sign.seen_at);
      const lastSeenAt = record.lastSeenAt && record.lastSeenAt > seenAt ? record.lastSeenAt : seenAt;
      const payloadAt = this.heartbeatTimes.get(record.id);
      const newer = payloadAt === undefined || seenAt.getTime() >= payloadAt;
      if (newer) this.heartbeatTimes.set(record.id, seenAt.getTime());
      this.records.set(record.id, {
        ...record,
        lastSeenAt: new Date(lastSeenAt.getTime()),
        ...(newer && {
          lastHeartbeat: copyOf(sign.heartbeat),
          agentVersion: sign.agent_version ?? record.agentVersion,
        }),
        updatedAt: this.clock.now(),
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
    const now = this.clock.now();
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

/**
 * The SessionRepository port kept in a Map, for unit specs: sessions open only on live devices of their
 * customer in the InMemoryDeviceRepository given, one open session per device, as the SQL function has it.
 */
export class InMemorySessionRepository extends SessionRepository {
  private readonly records = new Map<string, SessionRecord>();
  private readonly clock = new StoreClock();

  constructor(private readonly devices: InMemoryDeviceRepository) {
    super();
  }

  /** What is stored now. */
  peek(id: string): SessionRecord | undefined {
    const record = this.records.get(id.toLowerCase());
    return record && copyOf(record);
  }

  setCreatedAt(sessionIds: readonly string[], createdAt: Date): void {
    for (const id of sessionIds) {
      const record = this.records.get(id);
      if (record) record.createdAt = new Date(createdAt.getTime());
    }
  }

  open(session: NewSession): Promise<SessionRecord> {
    return Promise.resolve().then(() => {
      const device = isUuid(session.deviceId) ? this.devices.peek(session.deviceId) : undefined;
      if (!device || device.customerId !== session.customerId || device.status === 'revoked') {
        throw new DeviceNotFoundError(session.deviceId);
      }
      const open = [...this.records.values()].find(
        (record) => record.deviceId === device.id && record.state === 'open',
      );
      if (open) throw new SessionAlreadyOpenError(session.deviceId, open.id);
      const now = this.clock.now();
      const record: SessionRecord = {
        id: randomUUID(),
        deviceId: device.id,
        customerId: session.customerId,
        state: 'open',
        reason: session.reason,
        openedBy: session.openedBy,
        openedAt: now,
        closedBy: null,
        closedAt: null,
        closeReason: null,
        createdAt: now,
        updatedAt: now,
      };
      this.records.set(record.id, record);
      return copyOf(record);
    });
  }

  findById(id: string): Promise<SessionRecord | null> {
    return Promise.resolve(isUuid(id) ? (this.peek(id) ?? null) : null);
  }

  list(query: SessionListQuery): Promise<Page<SessionRecord>> {
    return Promise.resolve().then(() =>
      pageOf(
        [...this.records.values()].filter(
          (record) =>
            (query.customerId === undefined || record.customerId === query.customerId) &&
            (query.deviceId === undefined || record.deviceId === query.deviceId.toLowerCase()) &&
            (query.state === undefined || record.state === query.state),
        ),
        query,
      ),
    );
  }

  close(id: string, closing: SessionClosing): Promise<SessionRecord | null> {
    const record = isUuid(id) ? this.records.get(id.toLowerCase()) : undefined;
    if (!record || record.state !== 'open') return Promise.resolve(null);
    const now = this.clock.now();
    const closed: SessionRecord = {
      ...record,
      state: 'closed',
      closedAt: now,
      closedBy: closing.closedBy,
      closeReason: closing.closeReason,
      updatedAt: now,
    };
    this.records.set(record.id, closed);
    return Promise.resolve(copyOf(closed));
  }
}

/**
 * The CommandRepository port kept in a Map, for unit specs: commands are created in the sessions of the
 * InMemorySessionRepository given, and transitions follow the lifecycle table as the SQL function does.
 */
export class InMemoryCommandRepository extends CommandRepository {
  private readonly records = new Map<string, CommandRecord>();
  private readonly clock = new StoreClock();

  constructor(private readonly sessions: InMemorySessionRepository) {
    super();
  }

  peek(id: string): CommandRecord | undefined {
    const record = this.records.get(id.toLowerCase());
    return record && copyOf(record);
  }

  /** Moves commands' creation or expiry times, as time passing or twins in one millisecond would. */
  setTimes(commandIds: readonly string[], times: { createdAt?: Date; expiresAt?: Date }): void {
    for (const id of commandIds) {
      const record = this.records.get(id);
      if (!record) continue;
      if (times.createdAt) record.createdAt = new Date(times.createdAt.getTime());
      if (times.expiresAt) record.expiresAt = new Date(times.expiresAt.getTime());
    }
  }

  create(command: NewCommand): Promise<CommandCreation> {
    return Promise.resolve().then(() => {
      const session = isUuid(command.sessionId) ? this.sessions.peek(command.sessionId) : undefined;
      if (!session) throw new SessionClosedError(command.sessionId);
      const now = this.clock.now();
      const { idempotency } = command;
      if (idempotency) {
        const existing = [...this.records.values()].find(
          (record) => record.customerId === session.customerId && record.idempotencyKey === idempotency.key,
        );
        if (existing && existing.createdAt.getTime() > now.getTime() - idempotency.windowSec * 1000) {
          return { command: copyOf(existing), created: false };
        }
        if (existing) existing.idempotencyKey = null;
      }
      if (session.state !== 'open') throw new SessionClosedError(command.sessionId);
      const record: CommandRecord = {
        id: randomUUID(),
        sessionId: session.id,
        deviceId: session.deviceId,
        customerId: session.customerId,
        planId: command.planStep?.planId ?? null,
        stepIndex: command.planStep?.stepIndex ?? null,
        type: command.type,
        params: copyOf(command.params),
        status: 'queued',
        attempt: 1,
        timeoutSec: command.timeoutSec,
        expiresAt: new Date(now.getTime() + command.expiresInSec * 1000),
        progress: null,
        output: null,
        error: null,
        issuedBy: command.issuedBy,
        idempotencyKey: idempotency?.key ?? null,
        requestHash: idempotency?.requestHash ?? null,
        revision: 1,
        createdAt: now,
        sentAt: null,
        deliveredAt: null,
        startedAt: null,
        finishedAt: null,
        updatedAt: now,
      };
      this.records.set(record.id, record);
      const queued = [...this.records.values()].filter(
        (each) => each.deviceId === record.deviceId && each.status === 'queued',
      ).length;
      return { command: copyOf(record), created: true, queued };
    });
  }

  findById(id: string): Promise<CommandRecord | null> {
    return Promise.resolve(isUuid(id) ? (this.peek(id) ?? null) : null);
  }

  listBySession(query: { sessionId: string; cursor?: string; limit: number }): Promise<Page<CommandRecord>> {
    return Promise.resolve().then(() =>
      pageOf(
        [...this.records.values()].filter((record) => record.sessionId === query.sessionId.toLowerCase()),
        query,
      ),
    );
  }

  transition(
    id: string,
    from: readonly CommandStatus[],
    change: CommandChange,
  ): Promise<CommandRecord | null> {
    const record = isUuid(id) ? this.records.get(id.toLowerCase()) : undefined;
    if (!record || !from.includes(record.status)) return Promise.resolve(null);
    const rule = COMMAND_TRANSITIONS[change.status];
    const now = this.clock.now();
    const next: CommandRecord = {
      ...record,
      status: change.status,
      revision: record.revision + 1,
      attempt: record.attempt + (rule.countsAttempt ? 1 : 0),
      progress: change.progress === undefined ? record.progress : copyOf(change.progress),
      output: change.output === undefined ? record.output : copyOf(change.output),
      error: change.error === undefined ? record.error : copyOf(change.error),
      updatedAt: now,
    };
    if (rule.stamps !== null && record.status !== change.status) next[rule.stamps] = now;
    this.records.set(record.id, next);
    return Promise.resolve(copyOf(next));
  }

  claimQueued(deviceId: string, maxInFlight: number): Promise<CommandRecord[]> {
    const ofDevice = [...this.records.values()].filter(
      (record) => record.deviceId === deviceId.toLowerCase(),
    );
    const inFlight = ofDevice.filter((record) => ['sent', 'delivered', 'running'].includes(record.status));
    const now = this.clock.now();
    const claimed = ofDevice
      .filter((record) => record.status === 'queued' && record.expiresAt.getTime() > now.getTime())
      .sort(byCreation)
      .slice(0, Math.max(maxInFlight - inFlight.length, 0))
      .map((record) => {
        const sent: CommandRecord = {
          ...record,
          status: 'sent',
          revision: record.revision + 1,
          sentAt: now,
          updatedAt: now,
        };
        this.records.set(record.id, sent);
        return copyOf(sent);
      });
    return Promise.resolve(claimed);
  }

  countQueued(deviceId: string): Promise<number> {
    return Promise.resolve(
      [...this.records.values()].filter(
        (record) => record.deviceId === deviceId.toLowerCase() && record.status === 'queued',
      ).length,
    );
  }

  listNotFinal(page: { afterId?: string; limit: number }): Promise<CommandRecord[]> {
    const open: readonly CommandStatus[] = OPEN_COMMAND_STATUSES;
    return Promise.resolve(
      [...this.records.values()]
        .filter(
          (record) =>
            open.includes(record.status) && (page.afterId === undefined || record.id > page.afterId),
        )
        .sort((a, b) => compareIds(a.id, b.id))
        .slice(0, page.limit)
        .map((record) => copyOf(record)),
    );
  }
}

import { randomUUID } from 'node:crypto';
import { type NewAuditEvent } from '../../src/audit/audit-event';
import { type AuditLogRepository } from '../../src/audit/audit-log.repository';
import { type DeviceCredentialStore } from '../../src/auth/device-credential.store';
import { InvalidCursorError } from '../../src/common/errors/common.errors';
import {
  type DeviceChanges,
  type DeviceRecord,
  type HeartbeatSign,
  type NewDevice,
} from '../../src/devices/device';
import { type DeviceRepository } from '../../src/devices/device.repository';
import { DeviceSerialTakenError } from '../../src/devices/devices.errors';
import { type CommandRepository } from '../../src/sessions/commands/command.repository';
import { type SessionRepository } from '../../src/sessions/session.repository';
import { type PlanRepository } from '../../src/remediation/plan.repository';
import { describePlanStorageContract } from './plans.contract';
import { describeSessionStorageContract } from './sessions.contract';

/** The storage ports of one adapter, opened on an empty schema and closed by the suite. */
export interface StorageUnderTest {
  devices: DeviceRepository;
  audit: AuditLogRepository;
  /** Auth's read of the rows `devices` writes. */
  credentials: DeviceCredentialStore;
  sessions: SessionRepository;
  commands: CommandRepository;
  /** Remediation plans: on the real adapters only (no unit spec stands on a fake of them). */
  plans?: PlanRepository;
  /**
   * Gives devices one creation time, straight in the database: what concurrent creations in the same
   * millisecond do, which timing alone does not reliably bring about (PGlite runs one statement at a time).
   */
  setCreatedAt(deviceIds: readonly string[], createdAt: Date): Promise<void>;
  /** The same for sessions. */
  setSessionCreatedAt(sessionIds: readonly string[], createdAt: Date): Promise<void>;
  /** Moves commands' creation or expiry times, as twins in one millisecond or time passing would. */
  setCommandTimes(
    commandIds: readonly string[],
    times: { createdAt?: Date; expiresAt?: Date },
  ): Promise<void>;
  /** Moves plans' expiry, as time passing would. */
  setPlanExpiresAt?(planIds: readonly string[], expiresAt: Date): Promise<void>;
  close(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function newDevice(overrides: Partial<NewDevice> = {}): NewDevice {
  return {
    customerId: randomUUID(),
    name: 'Office router',
    serial: `SN-${randomUUID()}`,
    secretHash: `hash-${randomUUID()}`,
    ...overrides,
  };
}

/** `count` calls of `call`, at most 20 at a time, their results in call order. */
async function inChunks<T>(count: number, call: (n: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += 20) {
    const chunk = Array.from({ length: Math.min(20, count - start) }, (_, offset) => call(start + offset));
    results.push(...(await Promise.all(chunk)));
  }
  return results;
}

/** Creation order as the port defines it: (createdAt, id), the keyset every adapter pages by. */
function inListOrder(records: DeviceRecord[]): string[] {
  return [...records]
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((record) => record.id);
}

/**
 * The behaviour every DeviceRepository, DeviceCredentialStore and AuditLogRepository adapter must show, and
 * with sessions.contract.ts every SessionRepository and CommandRepository adapter. Each spec file runs it
 * unchanged against one adapter. Tests share one database, so each works with customers of its own.
 */
export function describeStorageContract(
  adapterName: string,
  open: () => Promise<StorageUnderTest>,
  { plans = true }: { plans?: boolean } = {},
): void {
  describe(`storage contract: ${adapterName}`, () => {
    let storage: StorageUnderTest;
    let devices: DeviceRepository;
    let audit: AuditLogRepository;
    let credentials: DeviceCredentialStore;

    beforeAll(async () => {
      storage = await open();
      ({ devices, audit, credentials } = storage);
    });

    afterAll(async () => {
      // Undefined when open() failed; the failure is already reported by beforeAll.
      await (storage as StorageUnderTest | undefined)?.close();
    });

    /** Every page of a listing, following nextCursor to the end. */
    async function listAll(customerId: string | undefined, limit: number): Promise<DeviceRecord[][]> {
      const pages: DeviceRecord[][] = [];
      let cursor: string | undefined;
      do {
        const page = await devices.list({ customerId, cursor, limit });
        pages.push(page.items);
        cursor = page.nextCursor ?? undefined;
        if (pages.length > 1000) throw new Error('pagination does not end');
      } while (cursor !== undefined);
      return pages;
    }

    describe('devices', () => {
      it('creates a device with every field and the schema defaults', async () => {
        const input = newDevice();
        const before = Date.now();
        const created = await devices.create(input);

        expect(created).toEqual({
          id: expect.stringMatching(UUID) as string,
          customerId: input.customerId,
          name: input.name,
          serial: input.serial,
          status: 'provisioned',
          secretHash: input.secretHash,
          agentVersion: null,
          hardware: null,
          capabilities: [],
          presenceState: 'unknown',
          lastSeenAt: null,
          lastHeartbeat: null,
          registeredAt: null,
          revokedAt: null,
          createdAt: expect.any(Date) as Date,
          updatedAt: expect.any(Date) as Date,
        });
        // Generous bounds: the database clock, not this process's, stamps the row.
        expect(Math.abs(created.createdAt.getTime() - before)).toBeLessThan(60_000);
        expect(Number.isNaN(created.updatedAt.getTime())).toBe(false);
      });

      it('creates devices without a serial, several per customer', async () => {
        const customerId = randomUUID();
        const first = await devices.create(newDevice({ customerId, serial: null }));
        const second = await devices.create(newDevice({ customerId, serial: null }));

        expect(first.serial).toBeNull();
        expect(second.id).not.toBe(first.id);
      });

      it('finds an existing device by id', async () => {
        const created = await devices.create(newDevice());

        await expect(devices.findById(created.id)).resolves.toEqual(created);
      });

      it('answers null for a missing id and for an id that is not a uuid', async () => {
        await expect(devices.findById(randomUUID())).resolves.toBeNull();
        await expect(devices.findById('not-a-uuid')).resolves.toBeNull();
        await expect(devices.findById("1' or '1'='1")).resolves.toBeNull();
      });

      it('refuses a second live device with the same serial for one customer', async () => {
        const first = await devices.create(newDevice());

        await expect(
          devices.create(newDevice({ customerId: first.customerId, serial: first.serial })),
        ).rejects.toBeInstanceOf(DeviceSerialTakenError);
      });

      it('accepts the same serial for another customer', async () => {
        const first = await devices.create(newDevice());
        const other = await devices.create(newDevice({ serial: first.serial }));

        expect(other.serial).toBe(first.serial);
        expect(other.customerId).not.toBe(first.customerId);
      });

      it('frees the serial of a revoked device', async () => {
        const first = await devices.create(newDevice());
        await devices.revoke(first.id);

        const replacement = await devices.create(
          newDevice({ customerId: first.customerId, serial: first.serial }),
        );

        expect(replacement.id).not.toBe(first.id);
        expect(replacement.serial).toBe(first.serial);
      });

      it("lists only the customer's own devices", async () => {
        const customerA = randomUUID();
        const customerB = randomUUID();
        const ownedByA = [
          await devices.create(newDevice({ customerId: customerA })),
          await devices.create(newDevice({ customerId: customerA })),
        ];
        const ownedByB = await devices.create(newDevice({ customerId: customerB }));

        const pageA = await devices.list({ customerId: customerA, limit: 50 });
        const pageB = await devices.list({ customerId: customerB, limit: 50 });

        expect(pageA.items.map((device) => device.id).sort()).toEqual(
          ownedByA.map((device) => device.id).sort(),
        );
        expect(pageB.items.map((device) => device.id)).toEqual([ownedByB.id]);
        expect(pageA.nextCursor).toBeNull();
      });

      it('lists every customer’s devices for an admin (no customerId)', async () => {
        const ofA = await devices.create(newDevice());
        const ofB = await devices.create(newDevice());

        const everything = (await listAll(undefined, 100)).flat();
        const ids = everything.map((device) => device.id);

        expect(ids).toEqual(expect.arrayContaining([ofA.id, ofB.id]));
        expect(new Set(everything.map((device) => device.customerId)).size).toBeGreaterThan(1);
        expect(everything.every((device) => device.status !== 'revoked')).toBe(true);
      });

      it('pages through a listing in creation order without duplicates or gaps', async () => {
        const customerId = randomUUID();
        // Created concurrently so that several rows share a created_at millisecond: the id must break ties.
        const created = await Promise.all(
          Array.from({ length: 7 }, (_, index) =>
            devices.create(newDevice({ customerId, name: `Device ${index}` })),
          ),
        );

        const pages = await listAll(customerId, 3);

        expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
        expect(pages.flat().map((device) => device.id)).toEqual(inListOrder(created));
        // The same walk again gives the same order: the order is stable, not incidental.
        const again = await listAll(customerId, 3);
        expect(again.flat().map((device) => device.id)).toEqual(pages.flat().map((device) => device.id));
      });

      it('breaks created_at ties by id, so a page boundary between twins loses and repeats nothing', async () => {
        const customerId = randomUUID();
        const first = await devices.create(newDevice({ customerId }));
        const twins = await Promise.all(
          Array.from({ length: 5 }, () => devices.create(newDevice({ customerId }))),
        );
        const last = await devices.create(newDevice({ customerId }));
        // Twins a second before the others: the walk crosses twin/twin and twin/other boundaries.
        await storage.setCreatedAt(
          twins.map((device) => device.id),
          new Date(first.createdAt.getTime() - 1000),
        );
        const created = await Promise.all(
          [first, ...twins, last].map(async (device) => (await devices.findById(device.id)) ?? device),
        );
        expect(new Set(created.slice(1, -1).map((device) => device.createdAt.getTime())).size).toBe(1);

        // One row per page: every pair of neighbours, twins included, is split by a cursor.
        const pages = await listAll(customerId, 1);

        expect(pages.flat().map((device) => device.id)).toEqual(inListOrder(created));
      });

      it('gives no next cursor when the last page is exactly full', async () => {
        const customerId = randomUUID();
        for (let index = 0; index < 4; index += 1) await devices.create(newDevice({ customerId }));

        const first = await devices.list({ customerId, limit: 2 });
        const second = await devices.list({ customerId, limit: 2, cursor: first.nextCursor ?? undefined });

        expect(first.nextCursor).not.toBeNull();
        expect(second.items).toHaveLength(2);
        expect(second.nextCursor).toBeNull();
      });

      it('refuses a malformed cursor', async () => {
        const customerId = randomUUID();
        const malformed = [
          'not a cursor',
          Buffer.from('yesterday|not-a-uuid').toString('base64url'),
          Buffer.from(`2026-01-01T00:00:00.000Z|${randomUUID()}|extra`).toString('base64url'),
        ];
        for (const cursor of malformed) {
          await expect(devices.list({ customerId, cursor, limit: 10 })).rejects.toBeInstanceOf(
            InvalidCursorError,
          );
        }
      });

      it('filters a listing by presence state', async () => {
        const customerId = randomUUID();
        const online = await devices.create(newDevice({ customerId }));
        const offline = await devices.create(newDevice({ customerId }));
        const untouched = await devices.create(newDevice({ customerId }));
        await devices.update(online.id, { presenceState: 'online' });
        await devices.update(offline.id, { presenceState: 'offline' });

        const onlineOnly = await devices.list({ customerId, presenceStates: ['online'], limit: 10 });
        const unknownOnly = await devices.list({ customerId, presenceStates: ['unknown'], limit: 10 });

        expect(onlineOnly.items.map((device) => device.id)).toEqual([online.id]);
        expect(unknownOnly.items.map((device) => device.id)).toEqual([untouched.id]);
      });

      it('counts live devices of every customer by recorded presence state, every state present', async () => {
        const before = await devices.countByPresence();
        const make = async (presenceState: DeviceChanges['presenceState'], customerId = randomUUID()) => {
          const device = await devices.create(newDevice({ customerId }));
          return (await devices.update(device.id, { presenceState, lastSeenAt: new Date() })) ?? device;
        };
        await make('online');
        await make('online');
        await make('stale');
        await devices.create(newDevice());
        const revoked = await make('offline');
        await devices.revoke(revoked.id);

        const after = await devices.countByPresence();

        expect(Object.keys(after).sort()).toEqual(['offline', 'online', 'stale', 'unknown']);
        expect({
          online: after.online - before.online,
          stale: after.stale - before.stale,
          unknown: after.unknown - before.unknown,
          offline: after.offline - before.offline,
        }).toEqual({ online: 2, stale: 1, unknown: 1, offline: 0 });
      });

      it('lists live devices recorded in given presence states across customers, in id order, page by page', async () => {
        const customerId = randomUUID();
        const make = async (presenceState: DeviceChanges['presenceState']) => {
          const device = await devices.create(newDevice({ customerId }));
          return (await devices.update(device.id, { presenceState, lastSeenAt: new Date() })) ?? device;
        };
        const online = [await make('online'), await make('online')];
        const stale = await make('stale');
        const offline = await make('offline');
        const revoked = await make('online');
        await devices.revoke(revoked.id);
        const elsewhere = await devices.create(newDevice());
        await devices.update(elsewhere.id, { presenceState: 'stale' });

        // Other tests share the database: walk everything, then look at this test's devices.
        const walked: DeviceRecord[] = [];
        let afterId: string | undefined;
        for (;;) {
          const page = await devices.listByPresence(['online', 'stale'], { afterId, limit: 2 });
          walked.push(...page);
          if (page.length < 2) break;
          afterId = page.at(-1)?.id;
          if (walked.length > 100_000) throw new Error('paging does not end');
        }
        const ids = walked.map((device) => device.id);

        expect(ids).toEqual([...ids].sort());
        expect(new Set(ids).size).toBe(ids.length);
        expect(walked.every((device) => ['online', 'stale'].includes(device.presenceState))).toBe(true);
        expect(walked.every((device) => device.status !== 'revoked')).toBe(true);
        const mine = [...online, stale, elsewhere].map((device) => device.id).sort();
        expect(ids.filter((id) => mine.includes(id))).toEqual(mine);
        expect(ids).not.toContain(offline.id);
        expect(ids).not.toContain(revoked.id);
        const found = walked.find((device) => device.id === stale.id);
        expect(found).toEqual(await devices.findById(stale.id));
        await expect(devices.listByPresence(['online'], { limit: 0 })).resolves.toEqual([]);
        await expect(devices.listByPresence([], { limit: 10 })).resolves.toEqual([]);
      });

      it('updates fields and round-trips json, arrays and dates exactly', async () => {
        const created = await devices.create(newDevice());
        const lastSeenAt = new Date('2026-03-04T05:06:07.089Z');
        const registeredAt = new Date('2026-03-04T05:00:00.001Z');
        const lastHeartbeat = {
          uptimeSec: 86_400,
          load: [0.25, 0.5, 1.75],
          interfaces: [{ name: 'eth0', up: true, addresses: ['192.0.2.1/24', '2001:db8::1/64'] }],
          wifi: null,
          note: 'quotes " and \' and a backslash \\ and ünïcödé ✓',
          nested: { deeper: { empty: {}, list: [] } },
        };
        const hardware = { model: 'NX-200', serial: 'HW-1', os: 'Linux', kernel: '6.1.0' };

        const changes = {
          name: 'Renamed router',
          status: 'active',
          agentVersion: '1.4.2',
          hardware,
          capabilities: ['ping', 'traceroute', 'dns,lookup', 'with "quotes"'],
          presenceState: 'online',
          lastSeenAt,
          lastHeartbeat,
          registeredAt,
        } satisfies DeviceChanges;
        const updated = await devices.update(created.id, changes);

        const expected: DeviceRecord = { ...created, ...changes, updatedAt: expect.any(Date) as Date };
        expect(updated).toEqual(expected);
        expect(updated!.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
        await expect(devices.findById(created.id)).resolves.toEqual(updated);
      });

      it('changes only the fields given, and can clear capabilities and json back to empty or null', async () => {
        const created = await devices.create(newDevice());
        await devices.update(created.id, {
          capabilities: ['ping'],
          lastHeartbeat: { ok: true },
          name: 'Kept',
        });

        const cleared = await devices.update(created.id, { capabilities: [], lastHeartbeat: null });

        expect(cleared).toMatchObject({
          name: 'Kept',
          capabilities: [],
          lastHeartbeat: null,
          serial: created.serial,
        });
      });

      it('answers null when updating a missing, revoked or non-uuid device', async () => {
        const revoked = await devices.create(newDevice());
        await devices.revoke(revoked.id);

        await expect(devices.update(randomUUID(), { name: 'x' })).resolves.toBeNull();
        await expect(devices.update(revoked.id, { name: 'x' })).resolves.toBeNull();
        await expect(devices.update('not-a-uuid', { name: 'x' })).resolves.toBeNull();
        await expect(devices.findById(revoked.id)).resolves.toMatchObject({ name: revoked.name });
      });

      describe('recordSigns (batched heartbeats)', () => {
        const sign = (device: DeviceRecord, overrides: Partial<HeartbeatSign> = {}): HeartbeatSign => ({
          deviceId: device.id,
          seenAt: new Date('2026-12-01T12:00:00.123Z'),
          heartbeat: { uptimeSec: 1 },
          agentVersion: null,
          ...overrides,
        });

        it('writes the payload, agent version and last sign of every device in the batch, and nothing else', async () => {
          const customerId = randomUUID();
          const online = await devices.create(newDevice({ customerId }));
          await devices.update(online.id, { presenceState: 'online', name: 'Kept name' });
          const stale = await devices.create(newDevice({ customerId }));
          await devices.update(stale.id, { presenceState: 'stale' });
          const before = await Promise.all([online, stale].map((device) => devices.findById(device.id)));
          const heartbeat = {
            uptimeSec: 86_400,
            load: [0.25, 0.5, 1.75],
            interfaces: [{ name: 'eth0', up: true, addresses: ['192.0.2.1/24', '2001:db8::1/64'] }],
            wifi: null,
            note: 'quotes " and \' and a backslash \\ and ünïcödé ✓',
            nested: { deeper: { empty: {}, list: [] } },
          };
          const first = sign(online, { heartbeat, agentVersion: '2.1.0' });
          const second = sign(stale, {
            seenAt: new Date('2026-12-01T12:00:01.456Z'),
            heartbeat: { uptimeSec: 7 },
            agentVersion: '2.2.0',
          });

          await expect(devices.recordSigns([first, second])).resolves.toBeUndefined();

          const [afterOnline, afterStale] = await Promise.all(
            [online, stale].map((device) => devices.findById(device.id)),
          );
          expect(afterOnline).toEqual({
            ...before[0],
            lastHeartbeat: heartbeat,
            agentVersion: '2.1.0',
            lastSeenAt: first.seenAt,
            updatedAt: expect.any(Date) as Date,
          });
          expect(afterStale).toEqual({
            ...before[1],
            presenceState: 'stale',
            lastHeartbeat: { uptimeSec: 7 },
            agentVersion: '2.2.0',
            lastSeenAt: second.seenAt,
            updatedAt: expect.any(Date) as Date,
          });
          expect(afterOnline!.updatedAt.getTime()).toBeGreaterThanOrEqual(before[0]!.updatedAt.getTime());
        });

        it('keeps the recorded agent version when a sign names none, and never moves the last sign back', async () => {
          const device = await devices.create(newDevice());
          const recordedSeenAt = new Date('2026-12-01T12:00:05.000Z');
          await devices.update(device.id, { agentVersion: '1.0.0', lastSeenAt: recordedSeenAt });

          await devices.recordSigns([
            sign(device, { seenAt: new Date('2026-12-01T12:00:04.000Z'), heartbeat: { late: true } }),
          ]);

          await expect(devices.findById(device.id)).resolves.toMatchObject({
            agentVersion: '1.0.0',
            lastSeenAt: recordedSeenAt,
            lastHeartbeat: { late: true },
          });
        });

        it('never replaces a payload with an older one from a later batch (a retry that waited out an outage)', async () => {
          const device = await devices.create(newDevice());
          const newer = sign(device, {
            seenAt: new Date('2026-12-01T12:00:10.000Z'),
            heartbeat: { n: 2 },
            agentVersion: '2.0.0',
          });
          await devices.recordSigns([newer]);

          await devices.recordSigns([
            sign(device, {
              seenAt: new Date('2026-12-01T12:00:05.000Z'),
              heartbeat: { n: 1 },
              agentVersion: '1.0.0',
            }),
          ]);

          await expect(devices.findById(device.id)).resolves.toMatchObject({
            lastHeartbeat: { n: 2 },
            agentVersion: '2.0.0',
            lastSeenAt: newer.seenAt,
          });
        });

        it('takes the newest of several signs of one device in a batch, wherever it stands', async () => {
          const device = await devices.create(newDevice());
          const newest = sign(device, {
            seenAt: new Date('2026-12-01T12:00:03.000Z'),
            heartbeat: { n: 3 },
            agentVersion: '3.0.0',
          });

          await devices.recordSigns([
            sign(device, { seenAt: new Date('2026-12-01T12:00:01.000Z'), heartbeat: { n: 1 } }),
            newest,
            sign(device, {
              deviceId: device.id.toUpperCase(),
              seenAt: new Date('2026-12-01T12:00:02.000Z'),
              heartbeat: { n: 2 },
              agentVersion: '2.0.0',
            }),
          ]);

          await expect(devices.findById(device.id)).resolves.toMatchObject({
            lastHeartbeat: { n: 3 },
            agentVersion: '3.0.0',
            lastSeenAt: newest.seenAt,
          });
        });

        it('leaves revoked devices exactly as they were and skips unknown or malformed ids, writing the rest', async () => {
          const revoked = await devices.create(newDevice());
          await devices.update(revoked.id, { presenceState: 'offline', lastHeartbeat: { before: true } });
          await devices.revoke(revoked.id);
          const revokedBefore = await devices.findById(revoked.id);
          const live = await devices.create(newDevice());

          await devices.recordSigns([
            sign(revoked, { heartbeat: { after: true }, agentVersion: '9.9.9' }),
            { ...sign(live), deviceId: randomUUID() },
            { ...sign(live), deviceId: 'not-a-uuid' },
            sign(live, { heartbeat: { written: true } }),
          ]);

          await expect(devices.findById(revoked.id)).resolves.toEqual(revokedBefore);
          await expect(devices.findById(live.id)).resolves.toMatchObject({
            lastHeartbeat: { written: true },
          });
          await expect(devices.recordSigns([])).resolves.toBeUndefined();
        });

        it('writes a batch of hundreds of devices in one call', async () => {
          const customerId = randomUUID();
          // A few requests at a time: hundreds at once would test the backend's queue, not the batch.
          const created = await inChunks(300, () => devices.create(newDevice({ customerId, serial: null })));

          await devices.recordSigns(created.map((device, n) => sign(device, { heartbeat: { n } })));

          const stored = await inChunks(created.length, (n) => devices.findById(created[n]!.id));
          expect(stored.map((device) => device?.lastHeartbeat)).toEqual(created.map((_, n) => ({ n })));
        });
      });

      it('revokes a device once: revokedAt set, hidden from listings, still found by id', async () => {
        const customerId = randomUUID();
        const kept = await devices.create(newDevice({ customerId }));
        const device = await devices.create(newDevice({ customerId }));

        const revoked = await devices.revoke(device.id);

        expect(revoked).toMatchObject({
          id: device.id,
          status: 'revoked',
          revokedAt: expect.any(Date) as Date,
        });
        expect(Math.abs(revoked!.revokedAt!.getTime() - Date.now())).toBeLessThan(60_000);
        const listed = await devices.list({ customerId, limit: 10 });
        expect(listed.items.map((item) => item.id)).toEqual([kept.id]);
        await expect(devices.findById(device.id)).resolves.toMatchObject({ status: 'revoked' });
        await expect(devices.revoke(device.id)).resolves.toBeNull();
        await expect(devices.revoke(randomUUID())).resolves.toBeNull();
        await expect(devices.revoke('not-a-uuid')).resolves.toBeNull();
      });

      it('lists the devices revoked since a moment, oldest revocation first', async () => {
        const customerId = randomUUID();
        const before = await devices.create(newDevice({ customerId }));
        await devices.revoke(before.id);
        // Revocation times come from the database clock; take the boundary from what it recorded.
        const boundary = (await devices.findById(before.id))!.revokedAt!;
        const first = await devices.create(newDevice({ customerId }));
        const second = await devices.create(newDevice({ customerId }));
        const live = await devices.create(newDevice({ customerId }));
        await new Promise((resolve) => setTimeout(resolve, 5));
        await devices.revoke(first.id);
        await new Promise((resolve) => setTimeout(resolve, 5));
        await devices.revoke(second.id);

        const since = new Date(boundary.getTime() + 1);
        const revoked = await credentials.listRevokedSince(since, 10_000);
        expect(revoked.indexOf(first.id)).toBeGreaterThanOrEqual(0);
        expect(revoked.indexOf(first.id)).toBeLessThan(revoked.indexOf(second.id));
        expect(revoked).not.toContain(before.id);
        expect(revoked).not.toContain(live.id);
        expect(await credentials.listRevokedSince(since, 1)).toHaveLength(1);
      });

      it("gives auth a device's credential, revoked or not, and nothing for an unknown id", async () => {
        const live = await devices.create(newDevice());
        const revoked = await devices.create(newDevice());
        await devices.revoke(revoked.id);

        await expect(credentials.find(live.id)).resolves.toEqual({
          customerId: live.customerId,
          revoked: false,
          secretHash: live.secretHash,
        });
        await expect(credentials.find(revoked.id)).resolves.toMatchObject({ revoked: true });
        await expect(credentials.find(randomUUID())).resolves.toBeNull();
        await expect(credentials.find('not-a-uuid')).resolves.toBeNull();
      });
    });

    describe('audit log', () => {
      it('appends events and lists those of one subject in insertion order', async () => {
        const subjectId = randomUUID();
        const customerId = randomUUID();
        const event = (action: string, details?: Record<string, unknown>): NewAuditEvent => ({
          actor: `customer:${customerId}`,
          action,
          subjectType: 'device',
          subjectId,
          customerId,
          details,
        });
        const details = {
          reason: 'lost ünïcödé',
          previous: { status: 'active', tags: ['a', 'b'] },
          count: 3,
        };

        const appended = [];
        for (const action of ['device.created', 'device.renamed', 'device.revoked']) {
          appended.push(await audit.append(event(action, action === 'device.renamed' ? details : undefined)));
        }
        await audit.append({ ...event('device.created'), subjectId: randomUUID() });

        expect(appended[1]).toEqual({
          id: expect.any(String) as string,
          occurredAt: expect.any(Date) as Date,
          actor: `customer:${customerId}`,
          action: 'device.renamed',
          subjectType: 'device',
          subjectId,
          customerId,
          details,
        });
        expect(appended[0]!.details).toEqual({});
        const listed = await audit.listForSubject({ subjectType: 'device', subjectId, limit: 10 });
        expect(listed).toEqual(appended);
        expect(listed.map((item) => item.action)).toEqual([
          'device.created',
          'device.renamed',
          'device.revoked',
        ]);
      });

      it('limits the listing and keeps events without a customer', async () => {
        const subjectId = randomUUID();
        for (let index = 0; index < 3; index += 1) {
          await audit.append({
            actor: 'system',
            action: `sweep.${index}`,
            subjectType: 'session',
            subjectId,
            customerId: null,
          });
        }

        const limited = await audit.listForSubject({ subjectType: 'session', subjectId, limit: 2 });
        const otherType = await audit.listForSubject({ subjectType: 'device', subjectId, limit: 10 });

        expect(limited.map((item) => item.action)).toEqual(['sweep.0', 'sweep.1']);
        expect(limited[0]!.customerId).toBeNull();
        expect(otherType).toEqual([]);
      });
    });

    describeSessionStorageContract(() => storage);
    if (plans) describePlanStorageContract(() => storage);
  });
}

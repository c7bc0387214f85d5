import { randomUUID } from 'node:crypto';
import { InvalidCursorError } from '../../src/common/errors/common.errors';
import { type DeviceRecord } from '../../src/devices/device';
import { DeviceNotFoundError } from '../../src/devices/devices.errors';
import { type CommandRecord, type NewCommand } from '../../src/sessions/commands/command';
import { type CommandRepository } from '../../src/sessions/commands/command.repository';
import { COMMAND_TRANSITIONS } from '../../src/sessions/commands/command-lifecycle';
import { type NewSession, type SessionRecord } from '../../src/sessions/session';
import { type SessionRepository } from '../../src/sessions/session.repository';
import { SessionAlreadyOpenError, SessionClosedError } from '../../src/sessions/sessions.errors';
import { type StorageUnderTest } from './storage.contract';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_SEC = 86_400;

/** Creation order as the ports define it: (createdAt, id). */
function inListOrder<T extends { createdAt: Date; id: string }>(records: T[]): string[] {
  return [...records]
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((record) => record.id);
}

/** The reasons of the rejected outcomes. */
function rejections(outcomes: PromiseSettledResult<unknown>[]): unknown[] {
  return outcomes.flatMap((outcome): unknown[] => (outcome.status === 'rejected' ? [outcome.reason] : []));
}

/**
 * What every SessionRepository and CommandRepository adapter must do, run by describeStorageContract
 * on the storage it opened (`storage()`), so the same database serves both suites. Tests share that
 * database: each works with devices and customers of its own.
 */
export function describeSessionStorageContract(storage: () => StorageUnderTest): void {
  let sessions: SessionRepository;
  let commands: CommandRepository;

  beforeAll(() => {
    ({ sessions, commands } = storage());
  });

  async function liveDevice(customerId = randomUUID()): Promise<DeviceRecord> {
    return storage().devices.create({
      customerId,
      name: 'Site router',
      serial: null,
      secretHash: `hash-${randomUUID()}`,
    });
  }

  function newSession(device: DeviceRecord, overrides: Partial<NewSession> = {}): NewSession {
    return {
      deviceId: device.id,
      customerId: device.customerId,
      reason: 'The Wi-Fi drops every evening',
      openedBy: `customer:${device.customerId}`,
      ...overrides,
    };
  }

  async function openSession(device?: DeviceRecord): Promise<SessionRecord> {
    return sessions.open(newSession(device ?? (await liveDevice())));
  }

  function newCommand(session: SessionRecord, overrides: Partial<NewCommand> = {}): NewCommand {
    return {
      sessionId: session.id,
      type: 'ping',
      params: { host: 'example.com', count: 4 },
      timeoutSec: 30,
      expiresInSec: 600,
      issuedBy: `customer:${session.customerId}`,
      planStep: null,
      idempotency: null,
      ...overrides,
    };
  }

  async function queued(session: SessionRecord, overrides: Partial<NewCommand> = {}): Promise<CommandRecord> {
    return (await commands.create(newCommand(session, overrides))).command;
  }

  /** Every page of a listing, following nextCursor to the end. */
  async function allPages<T>(
    list: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>,
  ): Promise<T[][]> {
    const pages: T[][] = [];
    let cursor: string | undefined;
    do {
      const page = await list(cursor);
      pages.push(page.items);
      cursor = page.nextCursor ?? undefined;
      if (pages.length > 1000) throw new Error('pagination does not end');
    } while (cursor !== undefined);
    return pages;
  }

  describe('diagnostic sessions', () => {
    it('opens a session on a live device with every field', async () => {
      const device = await liveDevice();
      const before = Date.now();

      const opened = await sessions.open(newSession(device));

      expect(opened).toEqual({
        id: expect.stringMatching(UUID) as string,
        deviceId: device.id,
        customerId: device.customerId,
        state: 'open',
        reason: 'The Wi-Fi drops every evening',
        openedBy: `customer:${device.customerId}`,
        openedAt: expect.any(Date) as Date,
        closedBy: null,
        closedAt: null,
        closeReason: null,
        createdAt: expect.any(Date) as Date,
        updatedAt: expect.any(Date) as Date,
      });
      // Generous bounds: the database clock, not this process's, stamps the row.
      expect(Math.abs(opened.openedAt.getTime() - before)).toBeLessThan(60_000);
      await expect(sessions.findById(opened.id)).resolves.toEqual(opened);
    });

    it('keeps one open session per device and names it to a second open', async () => {
      const device = await liveDevice();
      const first = await sessions.open(newSession(device, { reason: null }));

      const second = sessions.open(newSession(device));

      await expect(second).rejects.toBeInstanceOf(SessionAlreadyOpenError);
      await expect(second).rejects.toMatchObject({ openSessionId: first.id });
      expect(first.reason).toBeNull();
    });

    it('lets exactly one of concurrent opens on one device win, and names the winner to the others', async () => {
      const device = await liveDevice();

      const outcomes = await Promise.allSettled(
        Array.from({ length: 6 }, () => sessions.open(newSession(device))),
      );

      const winners = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      expect(winners).toHaveLength(1);
      const refused = rejections(outcomes);
      expect(refused).toHaveLength(5);
      for (const error of refused) {
        expect(error).toBeInstanceOf(SessionAlreadyOpenError);
        expect(error).toMatchObject({ openSessionId: winners[0]!.id });
      }
    });

    it('opens a new session on a device once the last one is closed', async () => {
      const device = await liveDevice();
      const first = await openSession(device);
      await sessions.close(first.id, { closedBy: first.openedBy, closeReason: 'requested' });

      const next = await openSession(device);

      expect(next.id).not.toBe(first.id);
      expect(next.state).toBe('open');
    });

    it('opens no session on a revoked, missing or non-uuid device, nor on a device of another customer', async () => {
      const revoked = await liveDevice();
      await storage().devices.revoke(revoked.id);
      const ofSomeoneElse = await liveDevice();

      const attempts = [
        newSession(revoked),
        newSession(ofSomeoneElse, { customerId: randomUUID() }),
        { ...newSession(revoked), deviceId: randomUUID() },
        { ...newSession(revoked), deviceId: "1' or '1'='1" },
      ];
      for (const attempt of attempts) {
        await expect(sessions.open(attempt)).rejects.toBeInstanceOf(DeviceNotFoundError);
      }
      const listed = await sessions.list({ deviceId: ofSomeoneElse.id, limit: 10 });
      expect(listed.items).toEqual([]);
    });

    it('answers null for a missing session and for an id that is not a uuid', async () => {
      await expect(sessions.findById(randomUUID())).resolves.toBeNull();
      await expect(sessions.findById('not-a-uuid')).resolves.toBeNull();
    });

    it('closes an open session once, recording who closed it and why', async () => {
      const opened = await openSession();
      const closedBy = `customer:${opened.customerId}` as const;

      const closed = await sessions.close(opened.id, { closedBy, closeReason: 'device_revoked' });

      expect(closed).toEqual({
        ...opened,
        state: 'closed',
        closedBy,
        closedAt: expect.any(Date) as Date,
        closeReason: 'device_revoked',
        updatedAt: expect.any(Date) as Date,
      });
      expect(closed!.closedAt!.getTime()).toBeGreaterThanOrEqual(opened.openedAt.getTime());
      await expect(sessions.findById(opened.id)).resolves.toEqual(closed);
      await expect(sessions.close(opened.id, { closedBy, closeReason: 'requested' })).resolves.toBeNull();
      await expect(sessions.close(randomUUID(), { closedBy, closeReason: 'requested' })).resolves.toBeNull();
      await expect(sessions.close('not-a-uuid', { closedBy, closeReason: 'requested' })).resolves.toBeNull();
    });

    it('lists sessions by customer, device and state, page by page in creation order', async () => {
      const customerId = randomUUID();
      const devices = [
        await liveDevice(customerId),
        await liveDevice(customerId),
        await liveDevice(customerId),
      ];
      const older = await openSession(devices[0]);
      await sessions.close(older.id, { closedBy: older.openedBy, closeReason: 'requested' });
      const created = [older, ...(await Promise.all(devices.map((device) => openSession(device))))];
      const elsewhere = await openSession();

      const pages = await allPages((cursor) => sessions.list({ customerId, cursor, limit: 2 }));
      const ofFirstDevice = await sessions.list({ customerId, deviceId: devices[0]!.id, limit: 10 });
      const open = await sessions.list({ customerId, state: 'open', limit: 10 });
      const closed = await sessions.list({ customerId, state: 'closed', limit: 10 });
      const everyone = (await allPages((cursor) => sessions.list({ cursor, limit: 100 }))).flat();

      expect(pages.map((page) => page.length)).toEqual([2, 2]);
      expect(pages.flat().map((session) => session.id)).toEqual(inListOrder(created));
      expect(ofFirstDevice.items.map((session) => session.id)).toEqual(inListOrder(created.slice(0, 2)));
      expect(open.items.map((session) => session.id).sort()).toEqual(
        created
          .slice(1)
          .map((session) => session.id)
          .sort(),
      );
      expect(closed.items.map((session) => session.id)).toEqual([older.id]);
      expect(everyone.map((session) => session.id)).toEqual(expect.arrayContaining([older.id, elsewhere.id]));
      expect(pages.flat().find((session) => session.id === older.id)).toEqual(
        await sessions.findById(older.id),
      );
    });

    it('breaks creation-time ties by id, so a page boundary between twins loses and repeats nothing', async () => {
      const customerId = randomUUID();
      const opened = await Promise.all(
        Array.from({ length: 5 }, async () => openSession(await liveDevice(customerId))),
      );
      await storage().setSessionCreatedAt(
        opened.map((session) => session.id),
        new Date('2026-06-01T12:00:00.000Z'),
      );
      const twins = await Promise.all(opened.map(async (session) => (await sessions.findById(session.id))!));

      const pages = await allPages((cursor) => sessions.list({ customerId, cursor, limit: 1 }));

      expect(pages.flat().map((session) => session.id)).toEqual(inListOrder(twins));
    });

    it('refuses a malformed cursor and lists nothing for a device id that is not a uuid', async () => {
      await expect(sessions.list({ cursor: 'not a cursor', limit: 10 })).rejects.toBeInstanceOf(
        InvalidCursorError,
      );
      await expect(sessions.list({ deviceId: 'not-a-uuid', limit: 10 })).resolves.toEqual({
        items: [],
        nextCursor: null,
      });
    });
  });

  describe('commands', () => {
    it('creates a queued command with every field, owned by its session’s device and customer', async () => {
      const session = await openSession();
      const params = { host: 'example.com', count: 4, nested: { list: [1, 'two', null] } };

      const { command, created } = await commands.create(newCommand(session, { params, expiresInSec: 900 }));

      expect(created).toBe(true);
      expect(command).toEqual({
        id: expect.stringMatching(UUID) as string,
        sessionId: session.id,
        deviceId: session.deviceId,
        customerId: session.customerId,
        planId: null,
        stepIndex: null,
        type: 'ping',
        params,
        status: 'queued',
        attempt: 1,
        timeoutSec: 30,
        expiresAt: expect.any(Date) as Date,
        progress: null,
        output: null,
        error: null,
        issuedBy: `customer:${session.customerId}`,
        idempotencyKey: null,
        requestHash: null,
        revision: 1,
        createdAt: expect.any(Date) as Date,
        sentAt: null,
        deliveredAt: null,
        startedAt: null,
        finishedAt: null,
        updatedAt: expect.any(Date) as Date,
      });
      expect(command.expiresAt.getTime() - command.createdAt.getTime()).toBe(900_000);
      await expect(commands.findById(command.id)).resolves.toEqual(command);
    });

    it('creates no command in a closed or missing session', async () => {
      const session = await openSession();
      await sessions.close(session.id, { closedBy: session.openedBy, closeReason: 'requested' });

      await expect(commands.create(newCommand(session))).rejects.toBeInstanceOf(SessionClosedError);
      await expect(
        commands.create({ ...newCommand(session), sessionId: randomUUID() }),
      ).rejects.toBeInstanceOf(SessionClosedError);
      await expect(commands.create({ ...newCommand(session), sessionId: 'nope' })).rejects.toBeInstanceOf(
        SessionClosedError,
      );
      await expect(commands.listBySession({ sessionId: session.id, limit: 10 })).resolves.toEqual({
        items: [],
        nextCursor: null,
      });
    });

    it('answers null for a missing command and for an id that is not a uuid', async () => {
      await expect(commands.findById(randomUUID())).resolves.toBeNull();
      await expect(commands.findById('not-a-uuid')).resolves.toBeNull();
    });

    describe('idempotency keys', () => {
      const keyed = (key: string, requestHash = 'hash-a') => ({
        idempotency: { key, requestHash, windowSec: DAY_SEC },
      });

      it('returns the command a key created when the key comes again, with the first request’s hash', async () => {
        const session = await openSession();
        const key = `key-${randomUUID()}`;

        const first = await commands.create(newCommand(session, keyed(key)));
        const again = await commands.create(
          newCommand(session, { ...keyed(key, 'hash-b'), params: { host: 'other.example', count: 1 } }),
        );

        expect(first.created).toBe(true);
        expect(first.command).toMatchObject({ idempotencyKey: key, requestHash: 'hash-a' });
        expect(again).toEqual({ command: first.command, created: false });
      });

      it('makes one command of concurrent creates with one key', async () => {
        const session = await openSession();
        const key = `key-${randomUUID()}`;

        const outcomes = await Promise.all(
          Array.from({ length: 6 }, () => commands.create(newCommand(session, keyed(key)))),
        );

        expect(new Set(outcomes.map((outcome) => outcome.command.id)).size).toBe(1);
        expect(outcomes.filter((outcome) => outcome.created)).toHaveLength(1);
        const listed = await commands.listBySession({ sessionId: session.id, limit: 10 });
        expect(listed.items).toHaveLength(1);
      });

      it('scopes keys to a customer', async () => {
        const key = `key-${randomUUID()}`;
        const mine = await commands.create(newCommand(await openSession(), keyed(key)));
        const theirs = await commands.create(newCommand(await openSession(), keyed(key)));

        expect(theirs.created).toBe(true);
        expect(theirs.command.id).not.toBe(mine.command.id);
      });

      it('returns a keyed command even after its session closed, and refuses a new key there', async () => {
        const session = await openSession();
        const key = `key-${randomUUID()}`;
        const first = await commands.create(newCommand(session, keyed(key)));
        await sessions.close(session.id, { closedBy: session.openedBy, closeReason: 'requested' });

        await expect(commands.create(newCommand(session, keyed(key)))).resolves.toEqual({
          command: first.command,
          created: false,
        });
        await expect(
          commands.create(newCommand(session, keyed(`key-${randomUUID()}`))),
        ).rejects.toBeInstanceOf(SessionClosedError);
      });

      it('frees a key once its window has passed: the next use creates a new command', async () => {
        const session = await openSession();
        const key = `key-${randomUUID()}`;
        const old = await commands.create(newCommand(session, keyed(key)));
        await storage().setCommandTimes([old.command.id], {
          createdAt: new Date(Date.now() - (DAY_SEC + 60) * 1000),
        });

        const fresh = await commands.create(newCommand(session, keyed(key, 'hash-b')));
        const retried = await commands.create(newCommand(session, keyed(key, 'hash-b')));

        expect(fresh.created).toBe(true);
        expect(fresh.command.id).not.toBe(old.command.id);
        expect(fresh.command.requestHash).toBe('hash-b');
        expect(retried).toEqual({ command: fresh.command, created: false });
        await expect(commands.findById(old.command.id)).resolves.toMatchObject({
          status: 'queued',
          idempotencyKey: null,
        });
      });
    });

    it("lists a session's commands page by page in creation order, ties broken by id", async () => {
      const session = await openSession();
      const created = await Promise.all(Array.from({ length: 5 }, () => queued(session)));
      await storage().setCommandTimes(
        created.slice(1, 4).map((command) => command.id),
        { createdAt: new Date(created[0]!.createdAt.getTime() - 1000) },
      );
      const stored = await Promise.all(
        created.map(async (command) => (await commands.findById(command.id))!),
      );
      await queued(await openSession());

      const pages = await allPages((cursor) =>
        commands.listBySession({ sessionId: session.id, cursor, limit: 2 }),
      );
      const onePerPage = await allPages((cursor) =>
        commands.listBySession({ sessionId: session.id, cursor, limit: 1 }),
      );

      expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
      expect(pages.flat().map((command) => command.id)).toEqual(inListOrder(stored));
      expect(onePerPage.flat().map((command) => command.id)).toEqual(inListOrder(stored));
      await expect(
        commands.listBySession({ sessionId: session.id, cursor: 'garbage', limit: 2 }),
      ).rejects.toBeInstanceOf(InvalidCursorError);
    });

    describe('transitions', () => {
      it('walks the lifecycle to succeeded, one revision per transition, each timestamp stamped once', async () => {
        const session = await openSession();
        const command = await queued(session);

        const [sent] = await commands.claimQueued(session.deviceId, 1);
        const delivered = await commands.transition(command.id, ['sent'], { status: 'delivered' });
        const running = await commands.transition(command.id, ['delivered'], {
          status: 'running',
          progress: { message: 'probing', pct: 10 },
        });
        const stillRunning = await commands.transition(command.id, COMMAND_TRANSITIONS.running.from, {
          status: 'running',
          progress: { message: 'half way', pct: 50 },
        });
        const output = {
          host: 'example.com',
          rttMs: { min: 1.5, avg: 2, max: 3.25, mdev: 0.5 },
          hops: [[1, 2]],
        };
        const succeeded = await commands.transition(command.id, COMMAND_TRANSITIONS.succeeded.from, {
          status: 'succeeded',
          output,
        });

        expect(sent).toMatchObject({ id: command.id, status: 'sent', revision: 2, attempt: 1 });
        expect(sent!.sentAt).toEqual(expect.any(Date));
        expect(delivered).toMatchObject({ status: 'delivered', revision: 3, sentAt: sent!.sentAt });
        expect(delivered!.deliveredAt).toEqual(expect.any(Date));
        expect(running).toMatchObject({
          status: 'running',
          revision: 4,
          progress: { message: 'probing', pct: 10 },
          deliveredAt: delivered!.deliveredAt,
        });
        expect(running!.startedAt).toEqual(expect.any(Date));
        expect(stillRunning).toMatchObject({
          status: 'running',
          revision: 5,
          progress: { message: 'half way', pct: 50 },
          startedAt: running!.startedAt,
        });
        expect(succeeded).toEqual({
          ...stillRunning,
          status: 'succeeded',
          revision: 6,
          output,
          finishedAt: expect.any(Date) as Date,
          updatedAt: expect.any(Date) as Date,
        });
        await expect(commands.findById(command.id)).resolves.toEqual(succeeded);
      });

      it('changes nothing and answers null when the command is in none of the given statuses', async () => {
        const session = await openSession();
        const command = await queued(session);

        await expect(commands.transition(command.id, ['sent'], { status: 'delivered' })).resolves.toBeNull();
        await expect(commands.transition(command.id, [], { status: 'cancelled' })).resolves.toBeNull();
        await expect(
          commands.transition(randomUUID(), ['queued'], { status: 'cancelled' }),
        ).resolves.toBeNull();
        await expect(
          commands.transition('not-a-uuid', ['queued'], { status: 'cancelled' }),
        ).resolves.toBeNull();
        await expect(commands.findById(command.id)).resolves.toEqual(command);

        const cancelled = await commands.transition(command.id, COMMAND_TRANSITIONS.cancelled.from, {
          status: 'cancelled',
        });
        expect(cancelled).toMatchObject({ status: 'cancelled', revision: 2, sentAt: null });
        expect(cancelled!.finishedAt).toEqual(expect.any(Date));
        await expect(
          commands.transition(command.id, COMMAND_TRANSITIONS.cancelled.from, { status: 'cancelled' }),
        ).resolves.toBeNull();
      });

      it('lets exactly one of concurrent transitions from one state win', async () => {
        const session = await openSession();
        const command = await queued(session);

        const outcomes = await Promise.all([
          ...Array.from({ length: 4 }, () =>
            commands.transition(command.id, COMMAND_TRANSITIONS.cancelled.from, { status: 'cancelled' }),
          ),
          ...Array.from({ length: 4 }, () =>
            commands.transition(command.id, COMMAND_TRANSITIONS.expired.from, { status: 'expired' }),
          ),
        ]);

        const winners = outcomes.filter((outcome) => outcome !== null);
        expect(winners).toHaveLength(1);
        expect(winners[0]!.revision).toBe(2);
        await expect(commands.findById(command.id)).resolves.toEqual(winners[0]);
      });

      it('queues a command sent and never acknowledged again as its next attempt, and keeps its error', async () => {
        const session = await openSession();
        const command = await queued(session);
        await commands.claimQueued(session.deviceId, 1);

        const requeued = await commands.transition(command.id, COMMAND_TRANSITIONS.queued.from, {
          status: 'queued',
        });
        const [resent] = await commands.claimQueued(session.deviceId, 1);
        const error = { code: 'undeliverable', message: 'Not acknowledged after 2 attempts' };
        const failed = await commands.transition(command.id, COMMAND_TRANSITIONS.failed.from, {
          status: 'failed',
          error,
        });

        expect(requeued).toMatchObject({ status: 'queued', attempt: 2, revision: 3 });
        expect(resent).toMatchObject({ id: command.id, status: 'sent', attempt: 2, revision: 4 });
        expect(resent!.sentAt!.getTime()).toBeGreaterThanOrEqual(requeued!.sentAt!.getTime());
        expect(failed).toMatchObject({ status: 'failed', attempt: 2, revision: 5, error, deliveredAt: null });
        expect(failed!.finishedAt).toEqual(expect.any(Date));
      });
    });

    describe('claiming queued commands', () => {
      it("sends a device's oldest queued commands, up to the commands it may have in flight", async () => {
        const session = await openSession();
        const created = [];
        for (let index = 0; index < 4; index += 1) created.push(await queued(session));
        const otherDevice = await openSession();
        await queued(otherDevice);

        const firstTwo = await commands.claimQueued(session.deviceId, 2);
        const noneFree = await commands.claimQueued(session.deviceId, 2);
        await commands.transition(firstTwo[0]!.id, ['sent'], { status: 'delivered' });
        await commands.transition(firstTwo[0]!.id, ['delivered'], { status: 'succeeded', output: {} });
        const third = await commands.claimQueued(session.deviceId, 2);

        const order = inListOrder(created);
        expect(firstTwo.map((command) => command.id)).toEqual(order.slice(0, 2));
        expect(firstTwo.every((command) => command.status === 'sent')).toBe(true);
        expect(noneFree).toEqual([]);
        expect(third.map((command) => command.id)).toEqual([order[2]]);
        await expect(commands.countQueued(session.deviceId)).resolves.toBe(1);
        await expect(commands.countQueued(otherDevice.deviceId)).resolves.toBe(1);
        await expect(commands.claimQueued(session.deviceId, 0)).resolves.toEqual([]);
        await expect(commands.claimQueued('not-a-uuid', 1)).resolves.toEqual([]);
        await expect(commands.countQueued('not-a-uuid')).resolves.toBe(0);
      });

      it('answers each creation with how many of its device’s commands are queued', async () => {
        const session = await openSession();
        const otherDevice = await openSession();
        const counts = [];
        for (let index = 0; index < 3; index += 1)
          counts.push((await commands.create(newCommand(session))).queued);
        await commands.claimQueued(session.deviceId, 2);
        counts.push((await commands.create(newCommand(session))).queued);
        counts.push((await commands.create(newCommand(otherDevice))).queued);

        expect(counts).toEqual([1, 2, 3, 2, 1]);
      });

      it('never lets concurrent claims for one device exceed its in-flight bound together', async () => {
        const session = await openSession();
        for (let index = 0; index < 6; index += 1) await queued(session);

        const claims = await Promise.all(
          Array.from({ length: 5 }, () => commands.claimQueued(session.deviceId, 2)),
        );

        const claimed = claims.flat().map((command) => command.id);
        expect(claimed).toHaveLength(2);
        expect(new Set(claimed).size).toBe(2);
        await expect(commands.countQueued(session.deviceId)).resolves.toBe(4);
      });

      it('leaves expired commands for the expiry clock instead of sending them', async () => {
        const session = await openSession();
        const stale = await queued(session);
        const fresh = await queued(session);
        await storage().setCommandTimes([stale.id], { expiresAt: new Date(Date.now() - 1000) });

        const claimed = await commands.claimQueued(session.deviceId, 5);

        expect(claimed.map((command) => command.id)).toEqual([fresh.id]);
        await expect(commands.findById(stale.id)).resolves.toMatchObject({ status: 'queued' });
      });
    });

    it('lists the commands that are not final, across devices, in id order, page by page', async () => {
      const first = await openSession();
      const second = await openSession();
      const waiting = await queued(first);
      const inFlight = await queued(second);
      await commands.claimQueued(second.deviceId, 1);
      const finished = await queued(first);
      await commands.transition(finished.id, ['queued'], { status: 'cancelled' });

      const walked: CommandRecord[] = [];
      let afterId: string | undefined;
      for (;;) {
        const page = await commands.listNotFinal({ afterId, limit: 3 });
        walked.push(...page);
        if (page.length < 3) break;
        afterId = page.at(-1)?.id;
        if (walked.length > 100_000) throw new Error('paging does not end');
      }
      const ids = walked.map((command) => command.id);

      expect(ids).toEqual([...ids].sort());
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expect.arrayContaining([waiting.id, inFlight.id]));
      expect(ids).not.toContain(finished.id);
      expect(
        walked.every((command) => ['queued', 'sent', 'delivered', 'running'].includes(command.status)),
      ).toBe(true);
      await expect(commands.listNotFinal({ limit: 0 })).resolves.toEqual([]);
    });
  });
}

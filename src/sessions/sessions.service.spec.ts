import { randomUUID } from 'node:crypto';
import { inMemorySessions } from '../../test/support/in-memory-sessions';
import { customerPrincipal } from '../../test/support/principals';
import { type ServicePrincipal } from '../auth/principal';
import { ForbiddenError } from '../common/errors/common.errors';
import { loadConfig } from '../config/app-config';
import { DeviceNotFoundError } from '../devices/devices.errors';
import { type DevicesService } from '../devices/devices.service';
import { type ServerEvent } from '../realtime/realtime.events';
import { RealtimeService } from '../realtime/realtime.service';
import { SessionAlreadyOpenError, SessionClosedError, SessionNotFoundError } from './sessions.errors';

/** The outbound transport without sockets: what features send, to which rooms. */
class RecordingRealtime extends RealtimeService {
  readonly sent: { to: string[]; event: string; payload: unknown }[] = [];

  override toPortal<Payload>(to: readonly string[], event: ServerEvent<Payload>, payload: Payload): void {
    this.sent.push({ to: [...to], event: event.name, payload });
  }
}

const service: ServicePrincipal = { kind: 'service', name: 'planner' };

describe('SessionsService', () => {
  const config = loadConfig({ LOG_LEVEL: 'silent' });

  function build() {
    return inMemorySessions(config, new RecordingRealtime());
  }

  const deviceOf = async (devices: DevicesService, owner = customerPrincipal()) => {
    const created = await devices.create(owner, { name: 'pi' });
    return { owner, deviceId: created.device.id };
  };

  describe('open', () => {
    it("opens a session on the customer's device, audits it and tells the device's watchers", async () => {
      const { sessions, devices, audit, realtime } = build();
      const { owner, deviceId } = await deviceOf(devices);

      const opened = await sessions.open(owner, deviceId, { reason: 'Slow evenings' });

      expect(opened).toEqual({
        id: expect.any(String) as string,
        deviceId,
        customerId: owner.userId,
        state: 'open',
        reason: 'Slow evenings',
        openedBy: `customer:${owner.userId}`,
        openedAt: expect.any(String) as string,
        closedBy: null,
        closedAt: null,
        closeReason: null,
        updatedAt: expect.any(String) as string,
      });
      expect(audit.events.at(-1)).toMatchObject({
        actor: `customer:${owner.userId}`,
        action: 'session.opened',
        subjectType: 'session',
        subjectId: opened.id,
        customerId: owner.userId,
        details: { deviceId, reason: 'Slow evenings' },
      });
      expect(realtime.sent).toEqual([
        { to: [`customer:${owner.userId}`, `device:${deviceId}`], event: 'session:updated', payload: opened },
      ]);
    });

    it('refuses a second open session on a device, naming the open one', async () => {
      const { sessions, devices, realtime } = build();
      const { owner, deviceId } = await deviceOf(devices);
      const first = await sessions.open(owner, deviceId, {});

      const second = sessions.open(owner, deviceId, { reason: 'again' });

      await expect(second).rejects.toBeInstanceOf(SessionAlreadyOpenError);
      await expect(second).rejects.toMatchObject({
        openSessionId: first.id,
        extras: { openSessionId: first.id },
      });
      expect(realtime.sent).toHaveLength(1);
    });

    it("opens none on another customer's device, a revoked one or a missing one, and none for an admin on another's", async () => {
      const { sessions, devices, sessionStore } = build();
      const { owner, deviceId } = await deviceOf(devices);
      const revoked = await deviceOf(devices, owner);
      await devices.remove(owner, revoked.deviceId);

      await expect(sessions.open(customerPrincipal(), deviceId, {})).rejects.toBeInstanceOf(
        DeviceNotFoundError,
      );
      await expect(sessions.open(owner, revoked.deviceId, {})).rejects.toBeInstanceOf(DeviceNotFoundError);
      await expect(sessions.open(owner, randomUUID(), {})).rejects.toBeInstanceOf(DeviceNotFoundError);
      await expect(sessions.open(customerPrincipal({ isAdmin: true }), deviceId, {})).rejects.toBeInstanceOf(
        ForbiddenError,
      );
      await expect(sessionStore.list({ limit: 10 })).resolves.toEqual({ items: [], nextCursor: null });
    });
  });

  describe('reads', () => {
    it('lists a customer’s own sessions only, filtered as asked, and every session for an admin', async () => {
      const { sessions, devices } = build();
      const alice = await deviceOf(devices);
      const aliceSecond = await deviceOf(devices, alice.owner);
      const bob = await deviceOf(devices);
      const closed = await sessions.open(alice.owner, alice.deviceId, {});
      await sessions.close(alice.owner, closed.id);
      const open = await sessions.open(alice.owner, aliceSecond.deviceId, {});
      const bobs = await sessions.open(bob.owner, bob.deviceId, {});
      const ids = (page: { items: { id: string }[] }) => page.items.map((session) => session.id);

      expect(ids(await sessions.list(alice.owner, { limit: 50 }))).toEqual([closed.id, open.id]);
      expect(ids(await sessions.list(alice.owner, { limit: 50, state: 'open' }))).toEqual([open.id]);
      expect(ids(await sessions.list(alice.owner, { limit: 50, deviceId: alice.deviceId }))).toEqual([
        closed.id,
      ]);
      expect(ids(await sessions.list(alice.owner, { limit: 50, deviceId: bob.deviceId }))).toEqual([]);
      expect(ids(await sessions.list(customerPrincipal({ isAdmin: true }), { limit: 50 }))).toEqual([
        closed.id,
        open.id,
        bobs.id,
      ]);
      const firstPage = await sessions.list(alice.owner, { limit: 1 });
      expect(ids(firstPage)).toEqual([closed.id]);
      expect(ids(await sessions.list(alice.owner, { limit: 1, cursor: firstPage.nextCursor ?? '' }))).toEqual(
        [open.id],
      );
    });

    it('reads a session with its commands, oldest first, for its customer, an admin and a backend service', async () => {
      const { sessions, devices, commandStore } = build();
      const { owner, deviceId } = await deviceOf(devices);
      const opened = await sessions.open(owner, deviceId, {});
      const issue = (host: string) =>
        commandStore.create({
          sessionId: opened.id,
          type: 'ping',
          params: { host, count: 1 },
          timeoutSec: 10,
          expiresInSec: 60,
          issuedBy: `customer:${owner.userId}`,
          planStep: null,
          idempotency: null,
        });
      const first = (await issue('a.example')).command;
      const second = (await issue('b.example')).command;

      for (const reader of [owner, customerPrincipal({ isAdmin: true }), service]) {
        const read = await sessions.get(reader, opened.id);
        expect(read).toEqual({
          ...opened,
          commands: [expect.objectContaining({ id: first.id }), expect.anything()],
          // No remediation feature registered its plans in this unit: a session then has none.
          plans: [],
        });
        expect(read.commands.map((command) => command.id)).toEqual([first.id, second.id]);
      }
      expect((await sessions.get(owner, opened.id)).commands[0]).toEqual({
        id: first.id,
        sessionId: opened.id,
        deviceId,
        type: 'ping',
        params: { host: 'a.example', count: 1 },
        status: 'queued',
        attempt: 1,
        timeoutSec: 10,
        expiresAt: first.expiresAt.toISOString(),
        progress: null,
        output: null,
        error: null,
        issuedBy: `customer:${owner.userId}`,
        createdAt: first.createdAt.toISOString(),
        sentAt: null,
        deliveredAt: null,
        startedAt: null,
        finishedAt: null,
        revision: 1,
      });
    });

    it("answers 'not found' for another customer's session, as for one that does not exist", async () => {
      const { sessions, devices } = build();
      const { owner, deviceId } = await deviceOf(devices);
      const opened = await sessions.open(owner, deviceId, {});

      await expect(sessions.get(customerPrincipal(), opened.id)).rejects.toBeInstanceOf(SessionNotFoundError);
      await expect(sessions.get(owner, randomUUID())).rejects.toBeInstanceOf(SessionNotFoundError);
      await expect(sessions.get(owner, 'not-a-uuid')).rejects.toBeInstanceOf(SessionNotFoundError);
    });
  });

  describe('close', () => {
    it('closes the customer’s open session once, audits it and tells the watchers', async () => {
      const { sessions, devices, audit, realtime } = build();
      const { owner, deviceId } = await deviceOf(devices);
      const opened = await sessions.open(owner, deviceId, {});

      const closed = await sessions.close(owner, opened.id);

      expect(closed).toMatchObject({
        id: opened.id,
        state: 'closed',
        closedBy: `customer:${owner.userId}`,
        closeReason: 'requested',
        closedAt: expect.any(String) as string,
      });
      expect(audit.events.at(-1)).toMatchObject({
        action: 'session.closed',
        subjectId: opened.id,
        details: { deviceId, closeReason: 'requested' },
      });
      expect(realtime.sent.map(({ payload }) => payload)).toEqual([opened, closed]);
      await expect(sessions.close(owner, opened.id)).rejects.toBeInstanceOf(SessionClosedError);
      expect(realtime.sent).toHaveLength(2);
      // Its device may have a new session now.
      await expect(sessions.open(owner, deviceId, {})).resolves.toMatchObject({ state: 'open' });
    });

    it("refuses to close another customer's session (not found) and an admin's close of one not its own", async () => {
      const { sessions, devices, sessionStore } = build();
      const { owner, deviceId } = await deviceOf(devices);
      const opened = await sessions.open(owner, deviceId, {});

      await expect(sessions.close(customerPrincipal(), opened.id)).rejects.toBeInstanceOf(
        SessionNotFoundError,
      );
      await expect(sessions.close(customerPrincipal({ isAdmin: true }), opened.id)).rejects.toBeInstanceOf(
        ForbiddenError,
      );
      await expect(sessions.close(owner, randomUUID())).rejects.toBeInstanceOf(SessionNotFoundError);
      expect(sessionStore.peek(opened.id)?.state).toBe('open');
    });

    it('closes the open session of a device its customer deletes, and says why', async () => {
      const { sessions, devices, audit, realtime } = build();
      const { owner, deviceId } = await deviceOf(devices);
      const opened = await sessions.open(owner, deviceId, {});
      const other = await deviceOf(devices, owner);
      const untouched = await sessions.open(owner, other.deviceId, {});

      await devices.remove(owner, deviceId);

      const closed = await sessions.get(owner, opened.id);
      expect(closed).toMatchObject({
        state: 'closed',
        closeReason: 'device_revoked',
        closedBy: `customer:${owner.userId}`,
      });
      expect(realtime.sent.at(-1)).toEqual({
        to: [`customer:${owner.userId}`, `device:${deviceId}`],
        event: 'session:updated',
        payload: expect.objectContaining({
          id: opened.id,
          state: 'closed',
          closeReason: 'device_revoked',
        }) as unknown,
      });
      expect(audit.events.filter((event) => event.action === 'session.closed')).toEqual([
        expect.objectContaining({
          subjectId: opened.id,
          details: { deviceId, closeReason: 'device_revoked' },
        }),
      ]);
      await expect(sessions.get(owner, untouched.id)).resolves.toMatchObject({ state: 'open' });
      // A device without an open session is deleted as before.
      const idle = await deviceOf(devices, owner);
      await expect(devices.remove(owner, idle.deviceId)).resolves.toBeUndefined();
    });
  });
});

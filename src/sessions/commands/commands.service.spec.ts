import { randomUUID } from 'node:crypto';
import { inMemorySessions } from '../../../test/support/in-memory-sessions';
import { eventually } from '../../../test/support/eventually';
import { customerPrincipal } from '../../../test/support/principals';
import { type CustomerPrincipal, type ServicePrincipal } from '../../auth/principal';
import { ForbiddenError, ValidationFailedError } from '../../common/errors/common.errors';
import { loadConfig } from '../../config/app-config';
import { DeviceNotFoundError } from '../../devices/devices.errors';
import { SessionClosedError, SessionNotFoundError } from '../sessions.errors';
import { COMMAND_CATALOGUE, COMMAND_TYPES, type CommandType } from './command-catalogue';
import {
  CapabilityMissingError,
  CommandFinalError,
  CommandNotFoundError,
  IdempotencyKeyReusedError,
  RemediationRequiresPlanError,
} from './commands.errors';
import { type IssueCommandDto } from './dto/issue-command.dto';

const DIAGNOSTICS: CommandType[] = ['ping', 'traceroute', 'dns_lookup', 'http_check', 'port_check'];
const service: ServicePrincipal = { kind: 'service', name: 'planner' };
const ping = (host = 'example.com', count = 3): IssueCommandDto => ({
  type: 'ping',
  params: { host, count },
});

describe('CommandsService', () => {
  const config = loadConfig({ LOG_LEVEL: 'silent', COMMAND_EXPIRY_SEC: '600' });

  function build() {
    const { commands, sessions, devices, deviceStore, commandStore, audit } = inMemorySessions(config);

    /** A registered device of `owner` that can run `capabilities`, with an open session on it. */
    async function sessionOf(owner: CustomerPrincipal = customerPrincipal(), capabilities = DIAGNOSTICS) {
      const device = deviceStore.put({ customerId: owner.userId, status: 'active', capabilities });
      const session = await sessions.open(owner, device.id, {});
      return { owner, deviceId: device.id, sessionId: session.id };
    }
    const storedOf = async (sessionId: string) =>
      (await commandStore.listBySession({ sessionId, limit: 100 })).items;
    return { commands, sessions, devices, deviceStore, commandStore, audit, sessionOf, storedOf };
  }

  describe('issue', () => {
    it('queues a diagnostic with its type’s default timeout, audits it, and answers it as not final', async () => {
      const { commands, audit, sessionOf, storedOf } = build();
      const { owner, deviceId, sessionId } = await sessionOf();

      const issued = await commands.issue(owner, sessionId, ping(), undefined, 0);

      expect(issued).toEqual({
        final: false,
        replayed: false,
        command: expect.objectContaining({
          sessionId,
          deviceId,
          type: 'ping',
          params: { host: 'example.com', count: 3 },
          status: 'queued',
          attempt: 1,
          timeoutSec: 30,
          issuedBy: `customer:${owner.userId}`,
          revision: 1,
        }) as unknown,
      });
      expect(Date.parse(issued.command.expiresAt) - Date.parse(issued.command.createdAt)).toBe(600_000);
      expect((await storedOf(sessionId)).map((command) => command.id)).toEqual([issued.command.id]);
      expect(audit.events.at(-1)).toMatchObject({
        actor: `customer:${owner.userId}`,
        action: 'command.issued',
        subjectType: 'command',
        subjectId: issued.command.id,
        customerId: owner.userId,
        details: {
          sessionId,
          deviceId,
          type: 'ping',
          params: { host: 'example.com', count: 3 },
          timeoutSec: 30,
        },
      });
    });

    it('refuses, storing nothing, every remediation type, a type the device lacks, bad params, timeouts and keys', async () => {
      const { commands, sessionOf, storedOf } = build();
      const { owner, deviceId, sessionId } = await sessionOf(undefined, ['ping']);
      const attempt = (body: IssueCommandDto, key?: string) => commands.issue(owner, sessionId, body, key, 0);

      const remediations = COMMAND_TYPES.filter((type) => COMMAND_CATALOGUE[type].risk === 'remediation');
      expect(remediations).toHaveLength(6);
      for (const type of remediations) {
        await expect(attempt({ type, params: {} })).rejects.toBeInstanceOf(RemediationRequiresPlanError);
      }
      await expect(attempt({ type: 'reboot', params: {} })).rejects.toBeInstanceOf(
        RemediationRequiresPlanError,
      );
      await expect(
        attempt({ type: 'set_dns_servers', params: { interface: 'eth0', servers: ['1.1.1.1'] } }),
      ).rejects.toMatchObject({ code: 'remediation_requires_plan', extras: { type: 'set_dns_servers' } });
      const lacking = attempt({ type: 'traceroute', params: { host: 'example.com', maxHops: 5 } });
      await expect(lacking).rejects.toBeInstanceOf(CapabilityMissingError);
      await expect(lacking).rejects.toMatchObject({ extras: { type: 'traceroute', capabilities: ['ping'] } });
      await expect(lacking).rejects.toThrow(deviceId);

      const fieldsOf = async (body: IssueCommandDto, key?: string) => {
        const refusal: unknown = await attempt(body, key).catch((error: unknown) => error);
        expect(refusal).toBeInstanceOf(ValidationFailedError);
        return (refusal as ValidationFailedError).errors.map((error) => error.field);
      };
      expect(await fieldsOf(ping('example.com; rm -rf /'))).toEqual(['params.host']);
      expect(await fieldsOf(ping('example.com', 21))).toEqual(['params.count']);
      expect(await fieldsOf({ type: 'ping', params: { host: 'a.example', count: 1, shell: 'ls' } })).toEqual([
        'params.shell',
      ]);
      expect(await fieldsOf({ type: 'ping', params: 'example.com' })).toEqual(['params']);
      expect(
        await fieldsOf({ type: 'ping', params: { host: 'a.example', count: 1 }, timeoutSec: 121 }),
      ).toEqual(['timeoutSec']);
      expect(await fieldsOf(ping(), 'x'.repeat(256))).toEqual(['Idempotency-Key']);
      expect(await fieldsOf(ping(), 'tab\there')).toEqual(['Idempotency-Key']);
      // Every fault at once, so a client fixes them in one go.
      expect(await fieldsOf({ type: 'ping', params: { host: '-x', count: 0 }, timeoutSec: 500 }, '')).toEqual(
        ['params.host', 'params.count', 'timeoutSec', 'Idempotency-Key'],
      );
      expect(await storedOf(sessionId)).toEqual([]);
    });

    it('returns the command a key made for the same request, in any key order, and refuses another request with it', async () => {
      const { commands, audit, sessionOf, storedOf } = build();
      const { owner, sessionId } = await sessionOf();
      const key = randomUUID();

      const first = await commands.issue(owner, sessionId, ping(), key, 0);
      const retry = await commands.issue(
        owner,
        sessionId,
        { type: 'ping', params: { count: 3, host: 'example.com' }, timeoutSec: 30 },
        key,
        0,
      );
      expect(retry).toEqual({ ...first, replayed: true });

      const other = commands.issue(owner, sessionId, ping('example.org'), key, 0);
      await expect(other).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
      await expect(other).rejects.toMatchObject({ extras: { commandId: first.command.id } });
      // The same request in another session is another request.
      const elsewhere = await sessionOf(owner);
      await expect(commands.issue(owner, elsewhere.sessionId, ping(), key, 0)).rejects.toBeInstanceOf(
        IdempotencyKeyReusedError,
      );
      // Keys are the customer's own: another customer's same key is another command.
      const stranger = await sessionOf();
      const theirs = await commands.issue(stranger.owner, stranger.sessionId, ping(), key, 0);
      expect(theirs.command.id).not.toBe(first.command.id);

      expect((await storedOf(sessionId)).map((command) => command.id)).toEqual([first.command.id]);
      expect(audit.events.filter((event) => event.subjectId === first.command.id)).toHaveLength(1);
    });

    it('takes nothing in a closed session, but a retry with its key still gets the command, now cancelled and final', async () => {
      const { commands, sessions, sessionOf } = build();
      const { owner, sessionId } = await sessionOf();
      const key = 'retry-me';
      const first = await commands.issue(owner, sessionId, ping(), key, 0);
      await sessions.close(owner, sessionId);

      await expect(
        commands.issue(owner, sessionId, ping('example.org'), undefined, 0),
      ).rejects.toBeInstanceOf(SessionClosedError);
      const retry = await commands.issue(owner, sessionId, ping(), key, 0);
      expect(retry).toMatchObject({
        final: true,
        replayed: true,
        command: { id: first.command.id, status: 'cancelled' },
      });
    });

    it("answers 'not found' for another customer's session and a missing one, and forbids an admin another's", async () => {
      const { commands, sessionOf, storedOf } = build();
      const { sessionId } = await sessionOf();

      await expect(
        commands.issue(customerPrincipal(), sessionId, ping(), undefined, 0),
      ).rejects.toBeInstanceOf(SessionNotFoundError);
      await expect(
        commands.issue(customerPrincipal(), randomUUID(), ping(), undefined, 0),
      ).rejects.toBeInstanceOf(SessionNotFoundError);
      await expect(
        commands.issue(customerPrincipal({ isAdmin: true }), sessionId, ping(), undefined, 0),
      ).rejects.toBeInstanceOf(ForbiddenError);
      expect(await storedOf(sessionId)).toEqual([]);
    });

    it('refuses a command for a device revoked while its session is still open', async () => {
      const { commands, deviceStore, sessionOf } = build();
      const { owner, deviceId, sessionId } = await sessionOf();
      // The revocation is recorded; its listener has not closed the session yet.
      await deviceStore.revoke(deviceId);

      await expect(commands.issue(owner, sessionId, ping(), undefined, 0)).rejects.toBeInstanceOf(
        DeviceNotFoundError,
      );
    });

    it('waits up to waitSec for the command to end, and answers it final as soon as it is', async () => {
      const { commands, sessionOf, storedOf } = build();
      const { owner, sessionId } = await sessionOf();

      const waiting = commands.issue(owner, sessionId, ping(), undefined, 30);
      const [stored] = await eventually(
        'the command is stored',
        () => storedOf(sessionId),
        (found) => found.length === 1,
      );
      const started = Date.now();
      await commands.cancel(owner, stored!.id);

      const answered = await waiting;
      expect(answered).toMatchObject({ final: true, command: { id: stored!.id, status: 'cancelled' } });
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });

  describe('read and cancel', () => {
    it('reads a command for its customer, an admin and a backend service, and nobody else', async () => {
      const { commands, sessionOf } = build();
      const { owner, sessionId } = await sessionOf();
      const { command } = await commands.issue(owner, sessionId, ping(), undefined, 0);

      for (const reader of [owner, customerPrincipal({ isAdmin: true }), service]) {
        await expect(commands.get(reader, command.id)).resolves.toEqual(command);
      }
      await expect(commands.get(customerPrincipal(), command.id)).rejects.toBeInstanceOf(
        CommandNotFoundError,
      );
      await expect(commands.get(owner, randomUUID())).rejects.toBeInstanceOf(CommandNotFoundError);
      await expect(commands.get(owner, 'not-a-uuid')).rejects.toBeInstanceOf(CommandNotFoundError);
    });

    it('cancels an open command once, audits it, and answers a final one with 409 naming its status', async () => {
      const { commands, audit, sessionOf } = build();
      const { owner, sessionId } = await sessionOf();
      const { command } = await commands.issue(owner, sessionId, ping(), undefined, 0);

      await expect(commands.cancel(customerPrincipal(), command.id)).rejects.toBeInstanceOf(
        CommandNotFoundError,
      );
      await expect(commands.cancel(customerPrincipal({ isAdmin: true }), command.id)).rejects.toBeInstanceOf(
        ForbiddenError,
      );
      const cancelled = await commands.cancel(owner, command.id);

      expect(cancelled).toMatchObject({ id: command.id, status: 'cancelled', revision: 2 });
      expect(cancelled.finishedAt).not.toBeNull();
      const again = commands.cancel(owner, command.id);
      await expect(again).rejects.toBeInstanceOf(CommandFinalError);
      await expect(again).rejects.toMatchObject({ extras: { commandStatus: 'cancelled' } });
      expect(audit.events.filter((event) => event.action === 'command.cancelled')).toEqual([
        expect.objectContaining({
          actor: `customer:${owner.userId}`,
          subjectId: command.id,
          details: { sessionId, deviceId: command.deviceId, type: 'ping', reason: 'requested' },
        }),
      ]);
    });

    it("cancels a session's open commands when it closes, and a deleted device's with its session", async () => {
      const { commands, sessions, devices, commandStore, audit, sessionOf, storedOf } = build();
      const { owner, sessionId } = await sessionOf();
      const done = (await commands.issue(owner, sessionId, ping('done.example'), undefined, 0)).command;
      await commandStore.transition(done.id, ['queued'], { status: 'sent' });
      await commandStore.transition(done.id, ['sent'], { status: 'delivered' });
      await commandStore.transition(done.id, ['delivered'], { status: 'succeeded', output: { ok: true } });
      const open = [
        (await commands.issue(owner, sessionId, ping('a.example'), undefined, 0)).command,
        (await commands.issue(owner, sessionId, ping('b.example'), undefined, 0)).command,
      ];
      await commandStore.transition(open[1]!.id, ['queued'], { status: 'sent' });

      await sessions.close(owner, sessionId);

      expect((await storedOf(sessionId)).map((command) => [command.id, command.status])).toEqual([
        [done.id, 'succeeded'],
        [open[0]!.id, 'cancelled'],
        [open[1]!.id, 'cancelled'],
      ]);
      expect(
        audit.events
          .filter((event) => event.action === 'command.cancelled')
          .map((event) => event.details.reason),
      ).toEqual(['session_closed', 'session_closed']);

      const second = await sessionOf(owner);
      const queued = (await commands.issue(owner, second.sessionId, ping(), undefined, 0)).command;
      await devices.remove(owner, second.deviceId);
      await expect(commands.get(owner, queued.id)).resolves.toMatchObject({ status: 'cancelled' });
      expect(audit.events.filter((event) => event.subjectId === queued.id).at(-1)).toMatchObject({
        action: 'command.cancelled',
        details: { reason: 'device_revoked' },
      });
    });
  });
});

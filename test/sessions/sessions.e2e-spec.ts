import { randomBytes, randomUUID } from 'node:crypto';
import { type CommandResponse } from '../../src/sessions/commands/dto/command.response';
import {
  type SessionResponse,
  type SessionWithCommandsResponse,
} from '../../src/sessions/dto/session.response';
import { bearer, type GatewayInstance, request } from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { nextEvent, record } from '../support/socket-clients';
import { queryDatabase } from '../support/test-database';

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { field: string; message: string }[];
  openSessionId?: string;
}

const SERVICE_KEY = randomBytes(32).toString('base64url');

/**
 * Diagnostic sessions end to end (docs/guide.md#diagnostic-sessions, #principals-and-authentication, #socketio; issue 11 item 2): two gateway instances on
 * real PostgREST/PostgreSQL and real Redis, real HTTP and Socket.IO clients over TCP.
 */
describe('diagnostic sessions across two instances', () => {
  let cluster: RealtimeCluster;
  let a: GatewayInstance;
  let b: GatewayInstance;
  let customerA: { accessToken: string; customerId: string };
  let customerB: { accessToken: string; customerId: string };
  let admin: string;

  beforeAll(async () => {
    cluster = await startRealtimeCluster('sessions', 2, { SERVICE_KEYS: `planner:${SERVICE_KEY}` });
    [a, b] = cluster.instances as [GatewayInstance, GatewayInstance];
    customerA = await cluster.stack.mintCustomerToken();
    customerB = await cluster.stack.mintCustomerToken();
    admin = (await cluster.stack.mintCustomerToken({ appMetadata: { provider: 'email', role: 'admin' } }))
      .accessToken;
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  async function deviceOfA(): Promise<string> {
    return (await cluster.createDevice(customerA.accessToken)).device.id;
  }

  function openSession(instance: GatewayInstance, deviceId: string, token: string, body?: unknown) {
    return request<SessionResponse & Problem>(`${instance.url}/v1/devices/${deviceId}/sessions`, {
      method: 'POST',
      authorization: bearer(token),
      body,
    });
  }

  function getSession(instance: GatewayInstance, sessionId: string, authorization: string) {
    return request<SessionWithCommandsResponse & Problem>(`${instance.url}/v1/sessions/${sessionId}`, {
      authorization,
    });
  }

  function closeSession(instance: GatewayInstance, sessionId: string, token: string, body?: unknown) {
    return request<SessionResponse & Problem>(`${instance.url}/v1/sessions/${sessionId}/close`, {
      method: 'POST',
      authorization: bearer(token),
      body,
    });
  }

  function listSessions(instance: GatewayInstance, query: string, authorization: string) {
    return request<{ items: SessionResponse[]; nextCursor: string | null } & Problem>(
      `${instance.url}/v1/sessions${query}`,
      { authorization },
    );
  }

  it('opens a session, refuses a second one with a 409 naming it on either instance, and closes it', async () => {
    const deviceId = await deviceOfA();

    const opened = await openSession(a, deviceId, customerA.accessToken, { reason: 'Wi-Fi drops at 9 pm' });
    expect(opened.status).toBe(201);
    expect(opened.body).toEqual({
      id: expect.any(String) as string,
      deviceId,
      customerId: customerA.customerId,
      state: 'open',
      reason: 'Wi-Fi drops at 9 pm',
      openedBy: `customer:${customerA.customerId}`,
      openedAt: expect.any(String) as string,
      closedBy: null,
      closedAt: null,
      closeReason: null,
      updatedAt: expect.any(String) as string,
    });

    const second = await openSession(b, deviceId, customerA.accessToken);
    expect(second.status).toBe(409);
    expect(second.contentType).toContain('application/problem+json');
    expect(second.body).toMatchObject({ code: 'session_already_open', openSessionId: opened.body.id });
    expect(second.body.detail).toContain(opened.body.id);

    // A request without any body closes it; so would `{}`.
    const closed = await closeSession(b, opened.body.id, customerA.accessToken);
    expect(closed.status).toBe(200);
    expect(closed.body).toEqual({
      ...opened.body,
      state: 'closed',
      closedBy: `customer:${customerA.customerId}`,
      closedAt: expect.any(String) as string,
      closeReason: 'requested',
      updatedAt: expect.any(String) as string,
    });
    const again = await closeSession(a, opened.body.id, customerA.accessToken, {});
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('session_closed');

    const reopened = await openSession(a, deviceId, customerA.accessToken, {});
    expect(reopened.status).toBe(201);
    expect(reopened.body.reason).toBeNull();
    const read = await getSession(b, opened.body.id, bearer(customerA.accessToken));
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ ...closed.body, commands: [], plans: [] });
  });

  it('lets exactly one of concurrent opens on one device win across the instances', async () => {
    const deviceId = await deviceOfA();

    const answers = await Promise.all(
      [a, b, a, b].map((instance) => openSession(instance, deviceId, customerA.accessToken, {})),
    );

    const created = answers.filter((answer) => answer.status === 201);
    expect(created).toHaveLength(1);
    const conflicts = answers.filter((answer) => answer.status === 409);
    expect(conflicts.map((answer) => answer.body.openSessionId)).toEqual([
      created[0]!.body.id,
      created[0]!.body.id,
      created[0]!.body.id,
    ]);
  });

  it('records who opened and closed each session in the audit log', async () => {
    const deviceId = await deviceOfA();
    const opened = (await openSession(a, deviceId, customerA.accessToken, { reason: 'audit me' })).body;
    await closeSession(b, opened.id, customerA.accessToken);

    const { rows } = await queryDatabase<{
      actor: string;
      action: string;
      customer_id: string;
      details: unknown;
    }>(
      cluster.stack.database.url,
      `select actor, action, customer_id, details from public.audit_events
       where subject_type = 'session' and subject_id = $1 order by id`,
      [opened.id],
    );
    expect(rows).toEqual([
      {
        actor: `customer:${customerA.customerId}`,
        action: 'session.opened',
        customer_id: customerA.customerId,
        details: { deviceId, reason: 'audit me' },
      },
      {
        actor: `customer:${customerA.customerId}`,
        action: 'session.closed',
        customer_id: customerA.customerId,
        details: { deviceId, closeReason: 'requested' },
      },
    ]);
  });

  it("answers customer B 404 on every session route of customer A's, and lists none of them", async () => {
    const deviceId = await deviceOfA();
    const opened = (await openSession(a, deviceId, customerA.accessToken)).body;
    const intruder = customerB.accessToken;

    const openAttempt = await openSession(b, deviceId, intruder, {});
    const read = await getSession(b, opened.id, bearer(intruder));
    const close = await closeSession(b, opened.id, intruder);
    const listed = await listSessions(b, '?limit=100', bearer(intruder));
    const byDevice = await listSessions(b, `?deviceId=${deviceId}`, bearer(intruder));

    expect(openAttempt.status).toBe(404);
    expect(openAttempt.body.code).toBe('device_not_found');
    expect([read.status, read.body.code]).toEqual([404, 'session_not_found']);
    expect([close.status, close.body.code]).toEqual([404, 'session_not_found']);
    // The same answers as for a session that does not exist at all.
    const missing = await getSession(b, randomUUID(), bearer(intruder));
    expect([missing.status, missing.body.code]).toEqual([404, 'session_not_found']);
    const garbage = await getSession(b, 'not-a-session', bearer(intruder));
    expect([garbage.status, garbage.body.code]).toEqual([404, 'session_not_found']);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((session) => session.id)).not.toContain(opened.id);
    expect(byDevice.body).toEqual({ items: [], nextCursor: null });
    await expect(getSession(a, opened.id, bearer(customerA.accessToken))).resolves.toMatchObject({
      status: 200,
      body: { state: 'open' },
    });
  });

  it('lets an admin read every session but close only its own, and a backend service read one by id only', async () => {
    const deviceId = await deviceOfA();
    const opened = (await openSession(a, deviceId, customerA.accessToken)).body;
    const service = bearer(SERVICE_KEY);

    const adminRead = await getSession(b, opened.id, bearer(admin));
    const adminList = await listSessions(b, `?deviceId=${deviceId}`, bearer(admin));
    const adminClose = await closeSession(b, opened.id, admin);
    const adminOpen = await openSession(b, deviceId, admin, {});
    const serviceRead = await getSession(a, opened.id, service);

    expect(adminRead.status).toBe(200);
    expect(adminList.body.items.map((session) => session.id)).toEqual([opened.id]);
    expect([adminClose.status, adminClose.body.code]).toEqual([403, 'forbidden']);
    expect([adminOpen.status, adminOpen.body.code]).toEqual([403, 'forbidden']);
    expect(serviceRead.status).toBe(200);
    expect(serviceRead.body).toEqual({ ...opened, commands: [], plans: [] });
    // A backend service reads a session by its id, and calls nothing else here.
    const serviceAttempts = [
      await listSessions(a, '', service),
      await request(`${a.url}/v1/sessions/${opened.id}/close`, { method: 'POST', authorization: service }),
      await request(`${a.url}/v1/devices/${deviceId}/sessions`, { method: 'POST', authorization: service }),
    ];
    expect(serviceAttempts.map((attempt) => attempt.status)).toEqual([401, 401, 401]);
    expect((await getSession(a, opened.id, bearer(customerA.accessToken))).body.state).toBe('open');
  });

  it("reads a session with its commands in the Command object's shape", async () => {
    const deviceId = await deviceOfA();
    const opened = (await openSession(a, deviceId, customerA.accessToken)).body;
    // Commands are created as the command routes will create them, through the migration's function.
    const { rows } = await queryDatabase<{ result: { command: { id: string } } }>(
      cluster.stack.database.url,
      `select public.create_command($1, 'ping', '{"host":"example.com","count":3}', 30, 600, $2,
         null, null, null, null, 0) as result`,
      [opened.id, `customer:${customerA.customerId}`],
    );
    const commandId = rows[0]!.result.command.id;

    const read = await getSession(b, opened.id, bearer(customerA.accessToken));

    expect(read.body.commands).toEqual([
      {
        id: commandId,
        sessionId: opened.id,
        deviceId,
        type: 'ping',
        params: { host: 'example.com', count: 3 },
        status: 'queued',
        attempt: 1,
        timeoutSec: 30,
        expiresAt: expect.any(String) as string,
        progress: null,
        output: null,
        error: null,
        issuedBy: `customer:${customerA.customerId}`,
        createdAt: expect.any(String) as string,
        sentAt: null,
        deliveredAt: null,
        startedAt: null,
        finishedAt: null,
        revision: 1,
      } satisfies CommandResponse,
    ]);
    const [command] = read.body.commands;
    expect(Date.parse(command!.expiresAt) - Date.parse(command!.createdAt)).toBe(600_000);
  });

  it('closes the open session of a device its customer deletes', async () => {
    const deviceId = await deviceOfA();
    const opened = (await openSession(a, deviceId, customerA.accessToken)).body;

    const deleted = await request(`${b.url}/v1/devices/${deviceId}`, {
      method: 'DELETE',
      authorization: bearer(customerA.accessToken),
    });

    expect(deleted.status).toBe(204);
    const read = await getSession(a, opened.id, bearer(customerA.accessToken));
    expect(read.body).toMatchObject({
      state: 'closed',
      closeReason: 'device_revoked',
      closedBy: `customer:${customerA.customerId}`,
    });
    const reopen = await openSession(a, deviceId, customerA.accessToken, {});
    expect([reopen.status, reopen.body.code]).toEqual([404, 'device_not_found']);
  });

  it('sends session:updated to the customer’s portal sockets on the other instance, and to nobody else', async () => {
    const deviceId = await deviceOfA();
    const portal = await cluster.sockets.connectPortal(b.url, customerA.accessToken);
    const bystander = await cluster.sockets.connectPortal(b.url, customerB.accessToken);
    const bystanderSaw = record<SessionResponse>(bystander, 'session:updated');

    const openedEvent = nextEvent<SessionResponse>(portal, 'session:updated', (s) => s.deviceId === deviceId);
    const opened = (await openSession(a, deviceId, customerA.accessToken, { reason: 'live' })).body;
    expect(await openedEvent).toEqual(opened);

    const closedEvent = nextEvent<SessionResponse>(
      portal,
      'session:updated',
      (s) => s.id === opened.id && s.state === 'closed',
    );
    const closed = (await closeSession(a, opened.id, customerA.accessToken)).body;
    expect(await closedEvent).toEqual(closed);

    // A revocation's close reaches the portal as well.
    const second = (await openSession(a, deviceId, customerA.accessToken)).body;
    const revokedEvent = nextEvent<SessionResponse>(
      portal,
      'session:updated',
      (s) => s.id === second.id && s.closeReason === 'device_revoked',
    );
    await request(`${a.url}/v1/devices/${deviceId}`, {
      method: 'DELETE',
      authorization: bearer(customerA.accessToken),
    });
    await revokedEvent;
    // By then the bystander's instance had relayed every event, had it been in any room that got one.
    expect(bystanderSaw).toEqual([]);
    portal.disconnect();
    bystander.disconnect();
  });

  it('pages and filters the list, and refuses malformed input with field errors', async () => {
    const deviceIds = [await deviceOfA(), await deviceOfA(), await deviceOfA()];
    const opened: SessionResponse[] = [];
    for (const deviceId of deviceIds)
      opened.push((await openSession(a, deviceId, customerA.accessToken)).body);
    await closeSession(a, opened[0]!.id, customerA.accessToken);
    const token = bearer(customerA.accessToken);

    const all: SessionResponse[] = [];
    let cursor: string | null = null;
    do {
      const page = await listSessions(b, `?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`, token);
      expect(page.status).toBe(200);
      all.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    const mine = all.map((session) => session.id).filter((id) => opened.some((session) => session.id === id));
    expect(mine).toEqual(opened.map((session) => session.id));
    const openOnSecond = await listSessions(b, `?deviceId=${deviceIds[1]}&state=open`, token);
    expect(openOnSecond.body.items.map((session) => session.id)).toEqual([opened[1]!.id]);
    const closedOnFirst = await listSessions(b, `?deviceId=${deviceIds[0]}&state=closed`, token);
    expect(closedOnFirst.body.items.map((session) => session.id)).toEqual([opened[0]!.id]);

    const refused = [
      await listSessions(b, '?state=paused', token),
      await listSessions(b, '?deviceId=not-a-uuid', token),
      await listSessions(b, '?limit=0', token),
      await listSessions(b, '?customerId=someone', token),
      await listSessions(b, '?cursor=garbage', token),
      await openSession(b, deviceIds[2]!, customerA.accessToken, { reason: 'x'.repeat(501) }),
      await openSession(b, deviceIds[2]!, customerA.accessToken, { reason: 'ok', priority: 'high' }),
      await openSession(b, deviceIds[2]!, customerA.accessToken, ['not', 'an', 'object']),
      await closeSession(b, opened[1]!.id, customerA.accessToken, { reason: 'done' }),
    ];
    expect(refused.map((answer) => [answer.status, answer.body.code])).toEqual([
      [400, 'validation_failed'],
      [400, 'validation_failed'],
      [400, 'validation_failed'],
      [400, 'validation_failed'],
      [400, 'invalid_cursor'],
      [400, 'validation_failed'],
      [400, 'validation_failed'],
      [400, 'validation_failed'],
      [400, 'validation_failed'],
    ]);
    expect(refused.map((answer) => answer.body.errors?.map((error) => error.field))).toEqual([
      ['state'],
      ['deviceId'],
      ['limit'],
      ['customerId'],
      undefined,
      ['reason'],
      ['priority'],
      ['payload'],
      ['reason'],
    ]);
    // Nothing was changed by the refused writes.
    const untouched = await getSession(a, opened[1]!.id, token);
    expect(untouched.body.state).toBe('open');
  });
});

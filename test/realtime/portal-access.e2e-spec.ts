import { randomUUID } from 'node:crypto';
import { type DeviceResponse } from '../../src/devices/dto/device.response';
import { eventually, holdsFor } from '../support/eventually';
import { bearer, type GatewayInstance, request } from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { ask, disconnection, nextEvent, record, refusal } from '../support/socket-clients';

interface PortalAck {
  ok: boolean;
  device?: DeviceResponse;
  expiresAt?: string;
  error?: { status: number; code: string; title: string };
}

/** The token's `exp`, in epoch milliseconds, read from its payload. */
function expiryOf(token: string): number {
  const [, payload = ''] = token.split('.');
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp: number }).exp * 1000;
}

/**
 * Who may see what over Socket.IO (docs/guide.md#principals-and-authentication, #socketio): handshake authentication on /agent and /portal,
 * per-device access on subscription, token expiry and refresh, and revocation across instances.
 */
describe('realtime access control across two instances', () => {
  let cluster: RealtimeCluster;
  let a: GatewayInstance;
  let b: GatewayInstance;
  let customerA: { accessToken: string; customerId: string };
  let customerB: string;
  let admin: string;

  beforeAll(async () => {
    cluster = await startRealtimeCluster('realtime-access', 2);
    [a, b] = cluster.instances as [GatewayInstance, GatewayInstance];
    customerA = await cluster.stack.mintCustomerToken();
    customerB = (await cluster.stack.mintCustomerToken()).accessToken;
    admin = (await cluster.stack.mintCustomerToken({ appMetadata: { provider: 'email', role: 'admin' } }))
      .accessToken;
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  describe('subscriptions', () => {
    it("refuses customer B a subscription to customer A's device as not found, and lets an admin in", async () => {
      const { credentials } = await cluster.createDevice(customerA.accessToken);
      const { deviceId } = credentials;
      const intruder = await cluster.sockets.connectPortal(b.url, customerB);
      const intruderSeen = record<DeviceResponse>(intruder, 'device:status');

      const refused = await ask<PortalAck>(intruder, 'device:subscribe', { deviceId });
      expect(refused).toEqual({
        ok: false,
        error: expect.objectContaining({ status: 404, code: 'device_not_found' }) as unknown,
      });
      // The same answer as for a device that does not exist at all: nothing is revealed.
      const unknown = await ask<PortalAck>(intruder, 'device:subscribe', { deviceId: randomUUID() });
      expect(unknown.error).toMatchObject({ status: 404, code: 'device_not_found' });

      const watcher = await cluster.sockets.connectPortal(b.url, admin);
      const granted = await ask<PortalAck>(watcher, 'device:subscribe', { deviceId });
      expect(granted).toMatchObject({ ok: true, device: { id: deviceId, presence: { state: 'unknown' } } });
      expect(JSON.stringify(granted)).not.toContain('secret');

      const watched = nextEvent<DeviceResponse>(watcher, 'device:status', (device) => device.id === deviceId);
      const agent = await cluster.sockets.connectAgent(a.url, credentials);
      expect((await watched).presence.state).toBe('online');
      const offline = nextEvent<DeviceResponse>(
        watcher,
        'device:status',
        (device) => device.id === deviceId && device.presence.state === 'offline',
      );
      agent.disconnect();
      await offline;
      // By then the intruder's instance had relayed both statuses, had it been in either room.
      expect(intruderSeen.filter(({ payload }) => payload.id === deviceId)).toEqual([]);

      expect(await ask<PortalAck>(watcher, 'device:unsubscribe', { deviceId })).toEqual({ ok: true });
      intruder.disconnect();
      watcher.disconnect();
    });
  });

  describe('token expiry', () => {
    it('closes a socket whose token expires with connection:closing token_expired', async () => {
      const { accessToken } = await cluster.stack.mintCustomerToken({ expiresInSeconds: 2 });
      const portal = await cluster.sockets.connectPortal(a.url, accessToken);
      const ended = nextEvent<{ reason: string }>(portal, 'connection:closing', () => true, 5000);
      const closed = disconnection(portal, 5000);
      expect(await ended).toEqual({ reason: 'token_expired' });
      expect(await closed).toBe('io server disconnect');
      const closedAt = Date.now();
      expect(closedAt).toBeGreaterThanOrEqual(expiryOf(accessToken) - 50);
      expect(closedAt).toBeLessThan(expiryOf(accessToken) + 1000);
    });

    it('keeps a socket open past the old expiry after auth:refresh with a fresh token of the same customer', async () => {
      const { customerId } = customerA;
      const shortLived = (await cluster.stack.mintCustomerToken({ customerId, expiresInSeconds: 2 }))
        .accessToken;
      const fresh = (await cluster.stack.mintCustomerToken({ customerId, expiresInSeconds: 600 }))
        .accessToken;
      const portal = await cluster.sockets.connectPortal(b.url, shortLived);
      const ends = record(portal, 'connection:closing');

      const refreshed = await ask<PortalAck>(portal, 'auth:refresh', { token: fresh });
      expect(refreshed).toEqual({ ok: true, expiresAt: new Date(expiryOf(fresh)).toISOString() });
      await holdsFor(
        'the refreshed socket to stay open past the old expiry',
        () => Promise.resolve(portal.connected),
        (isConnected) => isConnected,
        expiryOf(shortLived) + 700 - Date.now(),
      );
      expect(ends).toEqual([]);
      // Still a working socket, acting as the same customer.
      const { device } = await cluster.createDevice(customerA.accessToken);
      expect(await ask<PortalAck>(portal, 'device:subscribe', { deviceId: device.id })).toMatchObject({
        ok: true,
      });
      portal.disconnect();
    });

    it("refuses a refresh with another customer's token and still closes the socket at expiry", async () => {
      const { accessToken } = await cluster.stack.mintCustomerToken({ expiresInSeconds: 2 });
      const portal = await cluster.sockets.connectPortal(b.url, accessToken);
      const ended = nextEvent<{ reason: string }>(portal, 'connection:closing', () => true, 5000);

      const otherCustomer = await ask<PortalAck>(portal, 'auth:refresh', { token: customerB });
      expect(otherCustomer).toEqual({
        ok: false,
        error: expect.objectContaining({ status: 403, code: 'forbidden' }) as unknown,
      });
      const garbage = await ask<PortalAck>(portal, 'auth:refresh', { token: 'not.a.token' });
      expect(garbage).toMatchObject({ ok: false, error: { status: 401, code: 'invalid_credentials' } });

      expect(await ended).toEqual({ reason: 'token_expired' });
      expect(Date.now()).toBeGreaterThanOrEqual(expiryOf(accessToken) - 50);
      await eventually('the socket is closed', () => Promise.resolve(portal.disconnected), Boolean);
    });
  });

  describe('handshakes', () => {
    it('refuses agent handshakes without valid device credentials', async () => {
      const { credentials } = await cluster.createDevice(customerA.accessToken);
      const cases: [Record<string, unknown>, string][] = [
        [{ deviceId: credentials.deviceId, secret: 'wrong-secret' }, 'invalid_credentials'],
        [{ deviceId: randomUUID(), secret: credentials.secret }, 'invalid_credentials'],
        [{ deviceId: 'not-a-uuid', secret: credentials.secret }, 'invalid_credentials'],
        [{}, 'missing_credentials'],
        [{ deviceId: credentials.deviceId }, 'missing_credentials'],
        [{ deviceId: credentials.deviceId, secret: 42 }, 'missing_credentials'],
      ];
      for (const [auth, code] of cases) {
        const error = await refusal(cluster.sockets.agent(b.url, auth));
        expect({ auth, message: error.message, code: error.data?.code }).toEqual({
          auth,
          message: 'unauthorized',
          code,
        });
      }
      // The right credentials are accepted by the same instance.
      const agent = await cluster.sockets.connectAgent(b.url, credentials);
      expect(agent.connected).toBe(true);
      agent.disconnect();
    });

    it('refuses portal handshakes without a valid, unexpired access token', async () => {
      const expired = (await cluster.stack.mintCustomerToken({ expiresInSeconds: -60 })).accessToken;
      const wrongAudience = (await cluster.stack.mintCustomerToken({ extraClaims: { aud: 'anon' } }))
        .accessToken;
      const cases: [Record<string, unknown>, string][] = [
        [{}, 'missing_credentials'],
        [{ token: 42 }, 'missing_credentials'],
        [{ token: 'garbage' }, 'invalid_credentials'],
        [{ token: wrongAudience }, 'invalid_credentials'],
        [{ token: expired }, 'token_expired'],
      ];
      for (const [auth, code] of cases) {
        const error = await refusal(cluster.sockets.portal(a.url, auth));
        expect({ auth, message: error.message, code: error.data?.code }).toEqual({
          auth,
          message: 'unauthorized',
          code,
        });
      }
    });
  });

  describe('revocation', () => {
    it('closes the socket of a device revoked on the other instance within a second and refuses it after', async () => {
      const { credentials } = await cluster.createDevice(customerA.accessToken);
      const agent = await cluster.sockets.connectAgent(b.url, credentials);
      const ended = nextEvent<{ reason: string }>(agent, 'connection:closing', () => true, 2000);
      const closed = disconnection(agent, 2000);

      const deleted = await request(`${a.url}/v1/devices/${credentials.deviceId}`, {
        method: 'DELETE',
        authorization: bearer(customerA.accessToken),
      });
      expect(deleted.status).toBe(204);
      const revokedAt = Date.now();
      expect(await ended).toEqual({ reason: 'revoked' });
      expect(await closed).toBe('io server disconnect');
      expect(Date.now() - revokedAt).toBeLessThan(1000);

      for (const instance of [a, b]) {
        const error = await refusal(cluster.sockets.agent(instance.url, credentials));
        expect(error.data?.code).toBe('invalid_credentials');
      }
    });
  });
});

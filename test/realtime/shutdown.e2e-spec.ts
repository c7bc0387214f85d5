import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createDevToken } from '../../src/auth/dev-token';
import { loadConfig } from '../../src/config/app-config';
import { bearer, type GatewayInstance, request, startGatewayInstance } from '../support/gateway-instance';
import { makeDataDir } from '../support/in-process-app';
import { disconnection, nextEvent, SocketClients } from '../support/socket-clients';

/**
 * PRODUCT §8: when an instance stops, its sockets are closed with a reason agents reconnect on (a
 * transport close, which socket.io-client retries by itself), not a server disconnect (which it does not).
 */
describe('sockets when an instance shuts down', () => {
  const dataDir = makeDataDir();
  const sockets = new SocketClients();
  let gateway: GatewayInstance | undefined;

  beforeAll(async () => {
    gateway = await startGatewayInstance(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
  });

  afterAll(async () => {
    sockets.closeAll();
    await gateway?.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('closes agent and portal sockets at the transport, so clients reconnect elsewhere', async () => {
    const instance = gateway!;
    const token = await createDevToken(dataDir, { sub: randomUUID() });
    const created = await request<{ credentials: { deviceId: string; secret: string } }>(
      `${instance.url}/v1/devices`,
      { method: 'POST', authorization: bearer(token), body: { name: 'pi' } },
    );
    const agent = await sockets.connectAgent(instance.url, created.body.credentials);
    const portal = await sockets.connectPortal(instance.url, token);
    const sessionEnded = nextEvent(agent, 'session:end', () => true, 3000).then(
      () => true,
      () => false,
    );
    const agentClosed = disconnection(agent, 10_000);
    const portalClosed = disconnection(portal, 10_000);

    await instance.close();
    gateway = undefined;

    expect(await agentClosed).toBe('transport close');
    expect(await portalClosed).toBe('transport close');
    expect(await sessionEnded).toBe(false);
  });
});

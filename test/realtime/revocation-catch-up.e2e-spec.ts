import { Client } from 'pg';
import { type GatewayInstance } from '../support/gateway-instance';
import { type RealtimeCluster, startRealtimeCluster } from '../support/realtime-cluster';
import { disconnection, nextEvent } from '../support/socket-clients';
import { dropSubscriberConnections } from '../support/subscriber-connections';

/**
 * A revocation whose broadcast never reached an instance (its subscriber connection was down, or the
 * revoking instance died before publishing) still closes that instance's sockets once its subscriber
 * connection resumes: the instance asks the database what was revoked meanwhile.
 */
describe('revocations missed while the cache connection was lost', () => {
  const keyPrefix = `test:revocation-catch-up:${process.pid}:`;
  let cluster: RealtimeCluster;
  let b: GatewayInstance;

  beforeAll(async () => {
    cluster = await startRealtimeCluster('revocation-catch-up', 1, { REDIS_KEY_PREFIX: keyPrefix });
    [b] = cluster.instances as [GatewayInstance];
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('closes the socket of a device revoked without a broadcast once the subscriber reconnects', async () => {
    const customer = (await cluster.stack.mintCustomerToken()).accessToken;
    const { credentials } = await cluster.createDevice(customer);
    const agent = await cluster.sockets.connectAgent(b.url, credentials);
    const ended = nextEvent<{ reason: string }>(agent, 'connection:closing', () => true, 10_000);
    const closed = disconnection(agent, 10_000);

    // Revoked in the database only: no instance published anything.
    const database = new Client({ connectionString: cluster.stack.database.url });
    await database.connect();
    try {
      await database.query("update public.devices set status = 'revoked', revoked_at = now() where id = $1", [
        credentials.deviceId,
      ]);
    } finally {
      await database.end();
    }

    expect(await dropSubscriberConnections(keyPrefix)).toBeGreaterThan(0);
    expect(await ended).toEqual({ reason: 'revoked' });
    expect(await closed).toBe('io server disconnect');
  });
});

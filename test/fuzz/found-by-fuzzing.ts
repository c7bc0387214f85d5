import { SocketClients } from '../support/socket-clients';
import { basicAuthorization, type CreatedDevice, type FuzzGateway } from './fuzz-gateway';
import { checkHttpAnswer, expectProblem, type FuzzProblem } from './fuzz-oracles';
import { RawJson } from './json-text';
import { RawSocketEvents } from './raw-socket-events';

const BOM = '\ufeff';

/**
 * Counterexamples the fuzz properties found, kept as plain tests on every backend: each was accepted and
 * then stored altered, and is now refused with a problem naming the field, storing nothing.
 */
export function describeFoundByFuzzing(started: () => FuzzGateway): void {
  describe('inputs the fuzzer found stored altered', () => {
    let gateway: FuzzGateway;
    const clients = new SocketClients();

    beforeAll(() => {
      gateway = started();
    });

    afterAll(() => {
      clients.closeAll();
    });

    const customerHeaders = () => ({
      authorization: gateway.customer.authorization,
      'content-type': 'application/json',
    });
    const deviceHeaders = (device: CreatedDevice) => ({
      authorization: basicAuthorization(device.credentials),
      'content-type': 'application/json',
    });

    function expectFieldProblem(problem: unknown, field: string): void {
      expect(expectProblem(problem, 400).errors?.map((error) => error.field)).toContain(field);
    }

    it('refuses over a socket a heartbeat whose uptime is written 1e999, which parsed as Infinity and was stored as null', async () => {
      const device = await gateway.createDevice(gateway.customer, 'infinite-uptime');
      const socket = await clients.connectAgent(gateway.url, device.credentials);

      const ack = (await new RawSocketEvents(socket, '/agent').ask('heartbeat', {
        uptimeSec: new RawJson('1e999'),
      })) as { error?: FuzzProblem };

      expect(Object.keys(ack)).toEqual(['ok', 'error']);
      expectFieldProblem(ack.error, 'uptimeSec');
      expect((await gateway.devices.findById(device.device.id))?.lastHeartbeat).toBeNull();
    });

    it('refuses text starting with U+FEFF, which the embedded backend read back without it', async () => {
      const name = `${BOM}pi`;
      const created = await gateway.inject({
        method: 'POST',
        url: '/v1/devices',
        headers: customerHeaders(),
        payload: { name },
      });
      expectFieldProblem(checkHttpAnswer(created), 'name');

      const device = await gateway.createDevice(gateway.customer, 'kept-name');
      const renamed = await gateway.inject({
        method: 'PATCH',
        url: `/v1/devices/${device.device.id}`,
        headers: customerHeaders(),
        payload: { name },
      });
      expectFieldProblem(checkHttpAnswer(renamed), 'name');

      const registered = await gateway.inject({
        method: 'POST',
        url: '/v1/agent/register',
        headers: deviceHeaders(device),
        payload: { agentVersion: `${BOM}1.0`, capabilities: [] },
      });
      expectFieldProblem(checkHttpAnswer(registered), 'agentVersion');

      const heartbeat = await gateway.inject({
        method: 'POST',
        url: '/v1/agent/heartbeat',
        headers: deviceHeaders(device),
        payload: { uptimeSec: 0, agentVersion: BOM },
      });
      expectFieldProblem(checkHttpAnswer(heartbeat), 'agentVersion');

      const socket = await clients.connectAgent(gateway.url, device.credentials);
      const ack = (await new RawSocketEvents(socket, '/agent').ask('heartbeat', {
        uptimeSec: 0,
        agentVersion: BOM,
      })) as { error?: FuzzProblem };
      expectFieldProblem(ack.error, 'agentVersion');

      const stored = await gateway.devices.findById(device.device.id);
      expect({
        name: stored?.name,
        agentVersion: stored?.agentVersion,
        heartbeat: stored?.lastHeartbeat,
      }).toEqual({
        name: 'kept-name',
        agentVersion: null,
        heartbeat: null,
      });
    });

    it('stores U+FEFF anywhere but at the start of a value as given', async () => {
      const name = `pi${BOM}`;
      const device = await gateway.createDevice(gateway.customer, name);

      expect((await gateway.devices.findById(device.device.id))?.name).toBe(name);
    });
  });
}

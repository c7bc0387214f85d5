import fc from 'fast-check';
import { HeartbeatDto } from '../../src/devices/agent/dto/heartbeat.dto';
import { RegisterAgentDto } from '../../src/devices/agent/dto/register-agent.dto';
import { jsonSchemaOf } from '../../src/common/validation/dto-schema';
import { fuzzParameters, fuzzTestTimeout } from './fuzz-budget';
import { basicAuthorization, type CreatedDevice, type FuzzGateway } from './fuzz-gateway';
import { checkHttpAnswer } from './fuzz-oracles';
import { jsonbEquivalent, parsedOnServer, toJsonText } from './json-text';
import { type Generated, SchemaArbitraries } from './schema-arbitrary';

interface Registration {
  agentVersion: string;
  hardware?: Record<string, string>;
  capabilities: string[];
}

/** Registers this suite's properties against the gateway `started` gives once it is up. */
export function describeAgentApiFuzzing(started: () => FuzzGateway): void {
  describe('the agent API', () => {
    let gateway: FuzzGateway;

    beforeAll(async () => {
      gateway = started();
      // A registered device with a stored heartbeat, and another customer's: no fuzzed input may touch them.
      const sentinel = await gateway.createDevice(gateway.customer, 'sentinel');
      const asSentinel = { authorization: basicAuthorization(sentinel.credentials) };
      for (const [url, payload] of [
        [
          '/v1/agent/register',
          { agentVersion: '1.0.0', hardware: { model: 'pi 5' }, capabilities: ['ping'] },
        ],
        ['/v1/agent/heartbeat', { uptimeSec: 1, network: { interfaces: [{ name: 'eth0', up: true }] } }],
      ] as const) {
        const response = await gateway.inject({ method: 'POST', url, headers: asSentinel, payload });
        expect(response.statusCode).toBe(200);
      }
      await gateway.watch(sentinel.device.id);
      await gateway.watch((await gateway.createDevice(gateway.other)).device.id);
    }, 60_000);

    function send(device: CreatedDevice, url: string, { value }: Generated) {
      return gateway.inject({
        method: 'POST',
        url,
        headers: {
          authorization: basicAuthorization(device.credentials),
          'content-type': 'application/json',
        },
        payload: toJsonText(value),
      });
    }

    it(
      'POST /v1/agent/register answers every body with a 2xx or a problem, and stores exactly what it accepted',
      async () => {
        const device = await gateway.createDevice(gateway.customer, 'registrant');
        const bodies = new SchemaArbitraries(jsonSchemaOf(RegisterAgentDto)).fuzzed();
        const registration = async () => {
          const stored = await gateway.devices.findById(device.device.id);
          return {
            agentVersion: stored?.agentVersion,
            hardware: stored?.hardware,
            capabilities: stored?.capabilities,
          };
        };
        await fc.assert(
          fc.asyncProperty(bodies, async (body) => {
            const before = await registration();
            const response = await send(device, '/v1/agent/register', body);
            checkHttpAnswer(response);
            if (body.mutations.length === 0) expect(response.statusCode).toBe(200);
            const sent = parsedOnServer(body.value) as Registration;
            const expected =
              response.statusCode === 200
                ? {
                    agentVersion: sent.agentVersion,
                    hardware: jsonbEquivalent(sent.hardware ?? null),
                    capabilities: sent.capabilities,
                  }
                : before;
            expect(await registration()).toEqual(expected);
            expect(await gateway.readDevice(device.device.id)).toMatchObject(expected);
            await gateway.expectWatchedUnchanged();
          }),
          fuzzParameters(),
        );
      },
      fuzzTestTimeout(),
    );

    it(
      'POST /v1/agent/heartbeat answers every body with a 2xx or a problem, and stores exactly what it accepted',
      async () => {
        const bodies = new SchemaArbitraries(jsonSchemaOf(HeartbeatDto)).fuzzed();
        // A device's first heartbeat is written to the database: a run after an accepted one (or after a
        // failure, when fast-check shrinks) starts on a new device, so that every run stands on its own.
        let device = await gateway.createDevice(gateway.customer, 'heartbeater');
        let used = false;
        await fc.assert(
          fc.asyncProperty(bodies, async (body) => {
            if (used) device = await gateway.createDevice(gateway.customer, 'heartbeater');
            used = true;
            const before = await gateway.devices.findById(device.device.id);
            const response = await send(device, '/v1/agent/heartbeat', body);
            checkHttpAnswer(response);
            if (body.mutations.length === 0) expect(response.statusCode).toBe(200);
            if (response.statusCode !== 200) {
              expect(await gateway.devices.findById(device.device.id)).toEqual(before);
              expect((await gateway.readDevice(device.device.id)).presence.state).toBe('unknown');
              used = false;
            } else {
              const sent = parsedOnServer(body.value) as { agentVersion?: string };
              const expected = jsonbEquivalent(sent);
              const stored = await gateway.devices.findById(device.device.id);
              expect(stored?.lastHeartbeat).toEqual(expected);
              expect(stored?.agentVersion).toBe(sent.agentVersion ?? null);
              const { presence } = await gateway.readDevice(device.device.id);
              expect({ state: presence.state, lastHeartbeat: presence.lastHeartbeat }).toEqual({
                state: 'online',
                lastHeartbeat: expected,
              });
            }
            await gateway.expectWatchedUnchanged();
          }),
          fuzzParameters(),
        );
      },
      fuzzTestTimeout(),
    );
  });
}

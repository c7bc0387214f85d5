import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { type Socket } from 'socket.io-client';
import { HeartbeatDto } from '../../src/devices/agent/dto/heartbeat.dto';
import { jsonSchemaOf } from '../../src/common/validation/dto-schema';
import { AppConfig } from '../../src/config/app-config';
import { type DeviceResponse } from '../../src/devices/dto/device.response';
import { AuthRefreshDto } from '../../src/realtime/dto/auth-refresh.dto';
import { DeviceSubscriptionDto } from '../../src/devices/dto/device-subscription.dto';
import { eventually } from '../support/eventually';
import { SocketClients } from '../support/socket-clients';
import { fuzzParameters, fuzzTestTimeout } from './fuzz-budget';
import { type CreatedDevice, type FuzzGateway } from './fuzz-gateway';
import { expectProblem } from './fuzz-oracles';
import { hostileText, OBJECT_BUILT_INS } from './hostile-values';
import { jsonbEquivalent, parsedOnServer } from './json-text';
import { RawSocketEvents, RESERVED_EVENT_NAMES } from './raw-socket-events';
import { type Generated, SchemaArbitraries } from './schema-arbitrary';

interface Agent {
  device: CreatedDevice;
  socket: Socket;
  events: RawSocketEvents;
}

/** One portal event to send, and what a correct gateway must answer to it when that is known. */
interface PortalCase {
  event: string;
  input: Generated;
  /** The ack's `ok` when the input is valid and its outcome is determined; undefined when it may vary. */
  expectedOk?: boolean;
}

/** An event name no namespace handles: hostile text, built-in names, near-misses of the real ones. */
const unknownEventName = fc
  .oneof(
    hostileText,
    fc.constantFrom(...OBJECT_BUILT_INS),
    fc.constantFrom('heartbeat ', 'HEARTBEAT', 'device:subscribe\u0000', 'auth:refresh\u200b', 'error', ''),
  )
  .filter(
    (name) =>
      !(RESERVED_EVENT_NAMES as readonly string[]).includes(name) &&
      !['heartbeat', 'device:subscribe', 'device:unsubscribe', 'auth:refresh'].includes(name),
  );

const anyPayload: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  hostileText,
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom(...OBJECT_BUILT_INS), fc.constant('x')),
);

/** Registers this suite's properties against the gateway `started` gives once it is up. */
export function describeSocketEventFuzzing(started: () => FuzzGateway): void {
  describe('socket events', () => {
    let gateway: FuzzGateway;
    const clients = new SocketClients();
    let own: CreatedDevice;
    let foreign: CreatedDevice;
    let maxMessageBytes: number;

    beforeAll(async () => {
      gateway = started();
      maxMessageBytes = gateway.app.get(AppConfig).SOCKET_MAX_MESSAGE_BYTES;
      own = await gateway.createDevice(gateway.customer, 'watched-by-portal');
      foreign = await gateway.createDevice(gateway.other, 'someone-else');
      await gateway.watch(own.device.id);
      await gateway.watch(foreign.device.id);
    }, 60_000);

    afterAll(() => {
      clients.closeAll();
    });

    /** A new device with its /agent socket, once presence has stored the connection. */
    async function connectAgent(): Promise<Agent> {
      const device = await gateway.createDevice(gateway.customer, 'socket-agent');
      const socket = await clients.connectAgent(gateway.url, device.credentials);
      await eventually(
        'the connection is stored',
        () => gateway.devices.findById(device.device.id),
        (stored) => stored?.presenceState === 'online',
      );
      return { device, socket, events: new RawSocketEvents(socket, '/agent') };
    }

    async function connectPortal(): Promise<{ socket: Socket; events: RawSocketEvents }> {
      const token = gateway.customer.authorization.replace('Bearer ', '');
      const socket = await clients.connectPortal(gateway.url, token);
      return { socket, events: new RawSocketEvents(socket, '/portal') };
    }

    /** Whether the frame is over the message limit (the connection closes), under it, or too close to tell. */
    function sizeVerdict(frame: string): 'over' | 'under' | 'either' {
      // The engine.io packet type adds a byte or so to the socket.io frame.
      const bytes = Buffer.byteLength(frame, 'utf8');
      if (bytes > maxMessageBytes + 8) return 'over';
      if (bytes < maxMessageBytes - 8) return 'under';
      return 'either';
    }

    it(
      'answers every agent heartbeat with an ack or a problem, and stores exactly what it accepted',
      async () => {
        const bodies = new SchemaArbitraries(jsonSchemaOf(HeartbeatDto)).fuzzed();
        let agent: Agent | undefined;
        await fc.assert(
          fc.asyncProperty(bodies, async (body) => {
            // Each run on a new device after an accepted heartbeat (its first is the one stored), a closed
            // connection, or a failure.
            const current = agent ?? (await connectAgent());
            agent = undefined;
            const before = await gateway.devices.findById(current.device.device.id);
            const verdict = sizeVerdict(current.events.frame('heartbeat', body.value));
            let ack: unknown;
            try {
              ack = await current.events.ask('heartbeat', body.value);
            } catch (error) {
              // A message over SOCKET_MAX_MESSAGE_BYTES closes its connection, as documented.
              if (verdict === 'under') throw error;
              expect(current.socket.connected).toBe(false);
              return;
            }
            expect(verdict).not.toBe('over');
            if (body.mutations.length === 0) expect(ack).not.toHaveProperty('error');
            if (typeof ack === 'object' && ack !== null && 'error' in ack) {
              expect(Object.keys(ack)).toEqual(['ok', 'error']);
              expectProblem(ack.error);
              expect(await gateway.devices.findById(current.device.device.id)).toEqual(before);
              expect(current.socket.connected).toBe(true);
              agent = current;
            } else {
              expect(ack).toEqual({ serverTime: expect.any(String) as unknown, nextHeartbeatSec: 3600 });
              const sent = parsedOnServer(body.value) as { agentVersion?: string };
              const stored = await gateway.devices.findById(current.device.device.id);
              expect({ lastHeartbeat: stored?.lastHeartbeat, agentVersion: stored?.agentVersion }).toEqual({
                lastHeartbeat: jsonbEquivalent(sent),
                agentVersion: sent.agentVersion ?? null,
              });
              expect((await gateway.readDevice(current.device.device.id)).presence.lastHeartbeat).toEqual(
                jsonbEquivalent(sent),
              );
              current.socket.disconnect();
            }
            await gateway.expectWatchedUnchanged();
          }),
          fuzzParameters(),
        );
      },
      fuzzTestTimeout(),
    );

    it(
      'answers every portal event with ok or a problem, and subscribes and refreshes only as the customer may',
      async () => {
        const sameCustomerTokens = await Promise.all([1, 2].map(() => gateway.tokenFor(gateway.customer.id)));
        const otherCustomerToken = await gateway.tokenFor(gateway.other.id);
        const ids = [own.device.id, own.device.id.toUpperCase(), foreign.device.id, randomUUID()];
        const subscriptions = new SchemaArbitraries(jsonSchemaOf(DeviceSubscriptionDto), {
          examples: { deviceId: fc.constantFrom(...ids) },
        }).fuzzed();
        const refreshes = new SchemaArbitraries(jsonSchemaOf(AuthRefreshDto), {
          examples: { token: fc.constantFrom(...sameCustomerTokens, otherCustomerToken) },
        }).fuzzed();
        // Only asked of unmutated inputs, which are the DTO's shape; a mutated one may not even be an object.
        const ownId = (input: Generated): boolean =>
          (input.value as DeviceSubscriptionDto).deviceId.toLowerCase() === own.device.id;
        const cases: fc.Arbitrary<PortalCase> = fc.oneof(
          fc
            .tuple(fc.constantFrom('device:subscribe', 'device:unsubscribe'), subscriptions)
            .map(([event, input]) => ({
              event,
              input,
              expectedOk:
                input.mutations.length > 0 ? undefined : event === 'device:unsubscribe' ? true : ownId(input),
            })),
          refreshes.map((input) => ({
            event: 'auth:refresh',
            input,
            expectedOk:
              input.mutations.length > 0
                ? undefined
                : sameCustomerTokens.includes((input.value as AuthRefreshDto).token),
          })),
          fc.tuple(unknownEventName, anyPayload).map(([event, value]) => ({
            event,
            input: { value, mutations: ['an unknown event'] },
            expectedOk: false,
          })),
        );
        let portal: { socket: Socket; events: RawSocketEvents } | undefined;
        await fc.assert(
          fc.asyncProperty(cases, async ({ event, input, expectedOk }) => {
            const current = portal ?? (await connectPortal());
            portal = undefined;
            const verdict = sizeVerdict(current.events.frame(event, input.value));
            let ack: { ok?: unknown; error?: unknown };
            try {
              ack = (await current.events.ask(event, input.value)) as typeof ack;
            } catch (error) {
              if (verdict === 'under') throw error;
              expect(current.socket.connected).toBe(false);
              return;
            }
            expect(verdict).not.toBe('over');
            expect(current.socket.connected).toBe(true);
            portal = current;
            expect(typeof ack.ok).toBe('boolean');
            if (expectedOk !== undefined) expect({ event, ok: ack.ok }).toEqual({ event, ok: expectedOk });
            if (ack.ok === false) {
              expect(Object.keys(ack).sort()).toEqual(['error', 'ok']);
              expectProblem(ack.error);
            } else if (event === 'device:subscribe') {
              const { device } = ack as { device: DeviceResponse };
              expect(device).toEqual(await gateway.readDevice(own.device.id));
            } else if (event === 'auth:refresh') {
              expect(ack).toEqual({ ok: true, expiresAt: expect.any(String) as unknown });
            } else {
              expect(ack).toEqual({ ok: true });
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

/**
 * A client process of bench:sockets: holds device sockets (socket.io-client, websocket transport) to the
 * gateway and to the bare server, and sends heartbeats with acks when told. Started by the runner with an
 * IPC channel; it answers each command, in order, and exits when the runner goes away.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { answerCommands, type CommandAgentCounts, type CommandAgentOptions } from '../runner/command-agent';
import { type BenchDevice, heartbeatBody, REDIS_URL } from '../runner/local';

export type Server = 'gateway' | 'bare';

export type ClientCommand = { server: Server } & (
  | {
      type: 'connect';
      url: string;
      devices: BenchDevice[];
      concurrency: number;
      /** Each socket answers the commands it gets (bench/runner/command-agent.ts). */
      commands?: CommandAgentOptions;
    }
  /**
   * Heartbeats: from each of the first `sockets` connected sockets one every `intervalMs`, spread evenly
   * over the interval; or, with `inFlight`, that many at once, each acked one followed by the next, from
   * every connected socket in turn (one in flight per device, as agents send them, and each device's
   * beats as far apart as the load allows). With `presenceKeyPrefix`, every second beat of each socket
   * finds its device's last persisted payload long ago, as in the steady state (see `agePersisted`).
   */
  | ({ type: 'start'; round: number; presenceKeyPrefix?: string } & (
      { sockets: number; intervalMs: number } | { inFlight: number }
    ))
  /** Stops sending and waits for the outstanding acks. */
  | { type: 'stop' }
  | { type: 'probe'; payload: unknown }
  | { type: 'status' }
  | { type: 'disconnect' }
);

/**
 * What a client answers to every command: its sockets to that server still connected, those the server
 * closed while they should have stayed open (by reason), the first few connections refused and events not
 * acked, the heartbeats since 'start', the commands its sockets answered, and the ack of a 'probe'.
 */
export interface ClientState {
  connected: number;
  dropped: Record<string, number>;
  failures: string[];
  beats: { sent: number; acked: number; latenciesMs: number[] };
  commands: CommandAgentCounts;
  ack?: unknown;
}

export type ClientReply = ({ type: 'state' } & ClientState) | { type: 'failed'; message: string };

const CONNECT_TIMEOUT_MS = 20_000;
const ACK_TIMEOUT_MS = 10_000;

const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });

/**
 * In the steady state (HEARTBEAT_INTERVAL_SEC 30, HEARTBEAT_PERSIST_INTERVAL_SEC 60) every second beat of
 * a device is persisted. A run cannot wait a minute per device, so before such a beat its presence hash
 * is told that the last persisted payload is long past (`persistedAt` 0): the server then does exactly
 * the work of a persisted beat, whatever its persist interval. The same write goes to either server, so
 * that both are driven alike; the bare server's hash just gains a field it never reads.
 */
const agePersisted = (presenceKeyPrefix: string, deviceId: string): Promise<unknown> =>
  redis.hset(`${presenceKeyPrefix}presence:${deviceId}`, 'persistedAt', 0);

const newGroup = () => ({
  sockets: [] as Socket[],
  dropped: {} as Record<string, number>,
  failures: [] as string[],
  beats: { sent: 0, acked: 0, latenciesMs: [] } as ClientState['beats'],
  commands: { received: 0, answered: 0 },
  timers: [] as NodeJS.Timeout[],
  outstanding: new Set<Promise<void>>(),
  running: false,
});
type Group = ReturnType<typeof newGroup>;
const groups: Record<Server, Group> = { gateway: newGroup(), bare: newGroup() };

const fail = (group: Group, failure: string): void => {
  if (group.failures.length < 20) group.failures.push(failure);
};

function connectOne(
  group: Group,
  url: string,
  device: BenchDevice,
  commands?: CommandAgentOptions,
): Promise<void> {
  const socket = io(`${url}/agent`, {
    path: '/socket.io',
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: CONNECT_TIMEOUT_MS,
    auth: { deviceId: device.deviceId, secret: device.secret },
  });
  if (commands)
    answerCommands(socket, commands, group.commands, (failure) => {
      fail(group, failure);
    });
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.off('connect_error');
      group.sockets.push(socket);
      socket.once('disconnect', (reason) => {
        if (reason !== 'io client disconnect') group.dropped[reason] = (group.dropped[reason] ?? 0) + 1;
      });
      resolve();
    });
    socket.once('connect_error', (error) => {
      socket.close();
      fail(group, `${device.deviceId}: ${error.message}`);
      resolve();
    });
  });
}

const validAck = (ack: unknown): boolean => {
  const { serverTime, nextHeartbeatSec } = (ack ?? {}) as {
    serverTime?: unknown;
    nextHeartbeatSec?: unknown;
  };
  return typeof serverTime === 'string' && typeof nextHeartbeatSec === 'number';
};

const deviceOf = (socket: Socket): string => (socket.auth as { deviceId: string }).deviceId;

/** One heartbeat; `aged` first marks the device's last persisted payload as long past. */
function send(group: Group, socket: Socket, payloadIndex: number, aged?: string): Promise<void> {
  const { beats } = group;
  beats.sent += 1;
  let startedAt = 0;
  const done = (aged === undefined ? Promise.resolve() : agePersisted(aged, deviceOf(socket)))
    .then(() => {
      startedAt = performance.now();
      return socket
        .timeout(ACK_TIMEOUT_MS)
        .emitWithAck('heartbeat', JSON.parse(heartbeatBody(payloadIndex)) as unknown);
    })
    .then(
      (ack: unknown) => {
        if (!validAck(ack)) {
          fail(group, `unexpected ack ${JSON.stringify(ack)}`);
          return;
        }
        beats.acked += 1;
        beats.latenciesMs.push(performance.now() - startedAt);
      },
      (error: unknown) => {
        fail(group, `no ack: ${String(error)}`);
      },
    )
    .finally(() => group.outstanding.delete(done));
  group.outstanding.add(done);
  return done;
}

async function handle(command: ClientCommand): Promise<ClientState> {
  let group = groups[command.server];
  let ack: unknown;
  switch (command.type) {
    case 'connect': {
      group.failures = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let device = command.devices[next]; device; device = command.devices[next]) {
          next += 1;
          await connectOne(group, command.url, device, command.commands);
        }
      };
      await Promise.all(Array.from({ length: command.concurrency }, worker));
      break;
    }
    case 'start': {
      // Connected ones only: a socket the server closed is reported as dropped, not as a lost ack.
      const connected = group.sockets.filter((socket) => socket.connected);
      const sockets = 'inFlight' in command ? connected : connected.slice(0, command.sockets);
      group.beats = { sent: 0, acked: 0, latenciesMs: [] };
      group.failures = [];
      group.running = true;
      const { presenceKeyPrefix } = command;
      if (presenceKeyPrefix !== undefined && redis.status === 'wait') await redis.connect();
      const running = group;
      // Half the sockets start with a persisted beat, half with a throttled one.
      const beatsOf = sockets.map((_, index) => index);
      const busy = new Set<number>();
      const beat = (index: number): Promise<void> => {
        const aged = (beatsOf[index] = (beatsOf[index] ?? 0) + 1) % 2 === 0 ? presenceKeyPrefix : undefined;
        return send(running, sockets[index] as Socket, index + command.round * 7, aged);
      };
      if ('inFlight' in command) {
        let next = 0;
        const loop = (): void => {
          if (!running.running || sockets.length === 0) return;
          // Past a socket still waiting for its ack: a device has one heartbeat in flight at a time.
          while (busy.has(next)) next = (next + 1) % sockets.length;
          const index = next;
          next = (next + 1) % sockets.length;
          busy.add(index);
          void beat(index).then(() => {
            busy.delete(index);
            loop();
          });
        };
        for (let slot = 0; slot < Math.min(command.inFlight, sockets.length); slot += 1) loop();
        break;
      }
      const { intervalMs } = command;
      sockets.forEach((_, index) => {
        // Each socket on its own fixed schedule, spread evenly over the interval: a steady event rate.
        const first = setTimeout(
          () => {
            void beat(index);
            running.timers.push(setInterval(() => void beat(index), intervalMs));
          },
          (index / sockets.length) * intervalMs,
        );
        running.timers.push(first);
      });
      break;
    }
    case 'stop':
      group.running = false;
      for (const timer of group.timers.splice(0)) clearTimeout(timer);
      // Until nothing is outstanding: a closed loop's ack may have sent one more beat meanwhile.
      while (group.outstanding.size > 0) await Promise.all([...group.outstanding]);
      break;
    case 'probe':
      ack = await group.sockets[0]?.timeout(ACK_TIMEOUT_MS).emitWithAck('heartbeat', command.payload);
      break;
    case 'status':
      break;
    case 'disconnect':
      for (const socket of group.sockets) socket.disconnect();
      groups[command.server] = newGroup();
      // Lets the close frames go out before the runner measures anything else.
      await sleep(200);
      group = { ...group, sockets: [] };
      break;
  }
  const connected = group.sockets.filter((socket) => socket.connected).length;
  const { dropped, failures, beats, commands } = group;
  return { connected, dropped: { ...dropped }, failures, beats, commands: { ...commands }, ack };
}

let queue = Promise.resolve();
process.on('message', (command: ClientCommand) => {
  queue = queue.then(async () => {
    const reply = await handle(command).then(
      (state): ClientReply => ({ type: 'state', ...state }),
      (error: unknown): ClientReply => ({ type: 'failed', message: String(error) }),
    );
    process.send?.(reply);
  });
});
// The runner is gone (finished, failed or killed): nothing here may outlive it.
process.on('disconnect', () => {
  redis.disconnect();
  process.exit(0);
});

/**
 * A client process of bench:sockets: holds device sockets (socket.io-client, websocket transport) to the
 * gateway and to the bare server, and sends heartbeats with acks when told. Started by the runner with an
 * IPC channel; it answers each command, in order, and exits when the runner goes away.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { io, type Socket } from 'socket.io-client';
import { type BenchDevice, heartbeatBody } from '../runner/local';

export type Server = 'gateway' | 'bare';

export type ClientCommand = { server: Server } & (
  | { type: 'connect'; url: string; devices: BenchDevice[]; concurrency: number }
  /** The first `sockets` connected sockets each send one heartbeat every `intervalMs`, spread evenly. */
  | { type: 'start'; sockets: number; intervalMs: number; round: number }
  /** Stops sending and waits for the outstanding acks. */
  | { type: 'stop' }
  | { type: 'probe'; payload: unknown }
  | { type: 'status' }
  | { type: 'disconnect' }
);

/**
 * What a client answers to every command: its sockets to that server still connected, those the server
 * closed while they should have stayed open (by reason), the first few connections refused and events not
 * acked, the heartbeats since 'start', and the ack of a 'probe'.
 */
export interface ClientState {
  connected: number;
  dropped: Record<string, number>;
  failures: string[];
  beats: { sent: number; acked: number; latenciesMs: number[] };
  ack?: unknown;
}

export type ClientReply = ({ type: 'state' } & ClientState) | { type: 'failed'; message: string };

const CONNECT_TIMEOUT_MS = 20_000;
const ACK_TIMEOUT_MS = 10_000;

const newGroup = () => ({
  sockets: [] as Socket[],
  dropped: {} as Record<string, number>,
  failures: [] as string[],
  beats: { sent: 0, acked: 0, latenciesMs: [] } as ClientState['beats'],
  timers: [] as NodeJS.Timeout[],
  outstanding: new Set<Promise<void>>(),
});
type Group = ReturnType<typeof newGroup>;
const groups: Record<Server, Group> = { gateway: newGroup(), bare: newGroup() };

const fail = (group: Group, failure: string): void => {
  if (group.failures.length < 20) group.failures.push(failure);
};

function connectOne(group: Group, url: string, device: BenchDevice): Promise<void> {
  const socket = io(`${url}/agent`, {
    path: '/socket.io',
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: CONNECT_TIMEOUT_MS,
    auth: { deviceId: device.deviceId, secret: device.secret },
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

function send(group: Group, socket: Socket, payloadIndex: number): void {
  const { beats } = group;
  beats.sent += 1;
  const startedAt = performance.now();
  const done = socket
    .timeout(ACK_TIMEOUT_MS)
    .emitWithAck('heartbeat', JSON.parse(heartbeatBody(payloadIndex)))
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
          await connectOne(group, command.url, device);
        }
      };
      await Promise.all(Array.from({ length: command.concurrency }, worker));
      break;
    }
    case 'start': {
      // Connected ones only: a socket the server closed is reported as dropped, not as a lost ack.
      const sockets = group.sockets.filter((socket) => socket.connected).slice(0, command.sockets);
      group.beats = { sent: 0, acked: 0, latenciesMs: [] };
      group.failures = [];
      // Each socket on its own fixed schedule, spread evenly over the interval: a steady event rate.
      sockets.forEach((socket, index) => {
        const payloadIndex = index + command.round * 7;
        const beat = (): void => {
          send(group, socket, payloadIndex);
        };
        const first = setTimeout(
          () => {
            beat();
            group.timers.push(setInterval(beat, command.intervalMs));
          },
          (index / sockets.length) * command.intervalMs,
        );
        group.timers.push(first);
      });
      break;
    }
    case 'stop':
      for (const timer of group.timers.splice(0)) clearTimeout(timer);
      await Promise.all([...group.outstanding]);
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
  return { connected, dropped: { ...group.dropped }, failures: group.failures, beats: group.beats, ack };
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
  process.exit(0);
});

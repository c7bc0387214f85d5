/**
 * A client process of bench/sockets: holds device sockets (socket.io-client, websocket transport) to the
 * gateway and to the bare server, and sends heartbeats with acks when told. Started by run.ts with an IPC
 * channel; it does one command at a time and exits when the runner goes away.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { io, type Socket } from 'socket.io-client';
import { heartbeatBody } from '../shared/bench-device';
import { type ClientCommand, type ClientReply, type ServerName } from './messages';

const CONNECT_TIMEOUT_MS = 20_000;
const ACK_TIMEOUT_MS = 10_000;

interface Group {
  sockets: Socket[];
  dropped: Record<string, number>;
}

const groups: Record<ServerName, Group> = {
  gateway: { sockets: [], dropped: {} },
  bare: { sockets: [], dropped: {} },
};

function reply(message: ClientReply): void {
  process.send?.(message);
}

function connectOne(group: Group, url: string, deviceId: string, secret: string): Promise<string | null> {
  const socket = io(`${url}/agent`, {
    path: '/socket.io',
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: CONNECT_TIMEOUT_MS,
    auth: { deviceId, secret },
  });
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.off('connect_error');
      group.sockets.push(socket);
      socket.once('disconnect', (reason) => {
        if (reason === 'io client disconnect') return;
        group.dropped[reason] = (group.dropped[reason] ?? 0) + 1;
      });
      resolve(null);
    });
    socket.once('connect_error', (error) => {
      socket.close();
      resolve(`${deviceId}: ${error.message}`);
    });
  });
}

async function connect(command: Extract<ClientCommand, { type: 'connect' }>): Promise<ClientReply> {
  const group = groups[command.server];
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < command.devices.length) {
      const device = command.devices[next];
      next += 1;
      if (!device) continue;
      const failure = await connectOne(group, command.url, device.deviceId, device.secret);
      if (failure) failures.push(failure);
    }
  };
  await Promise.all(Array.from({ length: command.concurrency }, worker));
  return { type: 'connected', connected: group.sockets.length, failures: failures.slice(0, 20) };
}

function validAck(ack: unknown): boolean {
  if (typeof ack !== 'object' || ack === null) return false;
  const { serverTime, nextHeartbeatSec } = ack as { serverTime?: unknown; nextHeartbeatSec?: unknown };
  return typeof serverTime === 'string' && typeof nextHeartbeatSec === 'number';
}

async function heartbeat(command: Extract<ClientCommand, { type: 'heartbeat' }>): Promise<ClientReply> {
  // Connected ones only: a socket the server closed is reported by 'status', not counted as a lost ack.
  const sockets = groups[command.server].sockets
    .filter((socket) => socket.connected)
    .slice(0, command.sockets);
  const failures: string[] = [];
  const latenciesMs: number[] = [];
  let sent = 0;
  let acked = 0;
  const outstanding = new Set<Promise<void>>();
  const send = (socket: Socket, index: number): void => {
    sent += 1;
    const startedAt = performance.now();
    const payload: unknown = JSON.parse(heartbeatBody(index + command.round * 7));
    const done = socket
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck('heartbeat', payload)
      .then(
        (ack: unknown) => {
          if (validAck(ack)) {
            acked += 1;
            latenciesMs.push(performance.now() - startedAt);
          } else if (failures.length < 20) failures.push(`unexpected ack ${JSON.stringify(ack)}`);
        },
        (error: unknown) => {
          if (failures.length < 20) failures.push(`no ack: ${String(error)}`);
        },
      )
      .finally(() => outstanding.delete(done));
    outstanding.add(done);
  };
  // Each socket on its own fixed schedule, spread evenly over the interval: a steady event rate.
  const timers: NodeJS.Timeout[] = [];
  const startedAt = performance.now();
  sockets.forEach((socket, index) => {
    const offset = (index / sockets.length) * command.intervalMs;
    if (offset >= command.durationMs) return;
    timers.push(
      setTimeout(() => {
        send(socket, index);
        const repeat = setInterval(() => {
          if (performance.now() - startedAt >= command.durationMs) clearInterval(repeat);
          else send(socket, index);
        }, command.intervalMs);
        timers.push(repeat);
      }, offset),
    );
  });
  await sleep(command.durationMs);
  for (const timer of timers) clearTimeout(timer);
  await Promise.all([...outstanding]);
  return { type: 'heartbeats', sent, acked, failures, latenciesMs };
}

async function probe(command: Extract<ClientCommand, { type: 'probe' }>): Promise<ClientReply> {
  const socket = groups[command.server].sockets[0];
  if (!socket) throw new Error(`no ${command.server} socket to probe with`);
  const ack: unknown = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('heartbeat', command.payload);
  return { type: 'probed', ack };
}

async function disconnect(command: Extract<ClientCommand, { type: 'disconnect' }>): Promise<ClientReply> {
  const group = groups[command.server];
  const dropped = group.dropped;
  for (const socket of group.sockets) socket.disconnect();
  groups[command.server] = { sockets: [], dropped: {} };
  // Lets the close frames go out before the runner measures anything else.
  await sleep(200);
  return { type: 'disconnected', dropped };
}

async function handle(command: ClientCommand): Promise<ClientReply> {
  switch (command.type) {
    case 'connect':
      return connect(command);
    case 'heartbeat':
      return heartbeat(command);
    case 'probe':
      return probe(command);
    case 'status': {
      const group = groups[command.server];
      const connected = group.sockets.filter((socket) => socket.connected).length;
      return Promise.resolve({ type: 'status', connected, dropped: { ...group.dropped } });
    }
    case 'disconnect':
      return disconnect(command);
  }
}

let queue = Promise.resolve();
process.on('message', (command: ClientCommand) => {
  queue = queue.then(async () => {
    try {
      reply(await handle(command));
    } catch (error) {
      reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    }
  });
});
// The runner is gone (finished, failed or killed): nothing here may outlive it.
process.on('disconnect', () => {
  process.exit(0);
});
reply({ type: 'ready' });

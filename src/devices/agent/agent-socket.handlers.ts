import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DeviceCredentialsService } from '../../auth/device-credentials.service';
import { integer, object, timestamp } from '../../common/docs/typed-schema';
import { ShutdownState } from '../../common/lifecycle/shutdown-state';
import { AppConfig } from '../../config/app-config';
import { Cache } from '../../infra/cache/cache';
import { type AgentConnection } from '../../realtime/realtime-connections';
import { RealtimeHandlers } from '../../realtime/realtime-handlers';
import { type DeviceRef, PresenceService } from '../presence/presence.service';
import { AgentService, type HeartbeatResponse } from './agent.service';
import { HeartbeatDto } from './dto/heartbeat.dto';

type SocketHeartbeatAck = Omit<HeartbeatResponse, 'pendingCommands'>;

const SOCKET_HEARTBEAT_ACK_SCHEMA = object<SocketHeartbeatAck>({
  serverTime: timestamp(),
  nextHeartbeatSec: integer({ description: 'When to send the next heartbeat' }),
});

const CONNECT_ATTEMPTS = 3;
const CONNECT_RETRY_DELAY_MS = 200;

/** Announces a new connection to every instance, so the device's older sockets anywhere are closed. */
const CONNECTED_CHANNEL = 'agent-connected';

interface SocketPresence {
  device: DeviceRef;
  /** Resolves to the connection's epoch once presence recorded the connection. */
  epoch: Promise<number>;
  /** The epoch once it resolved, so that each heartbeat does not wait a microtask for it. */
  knownEpoch?: number;
  lastSignAt: number;
}

/**
 * Agents' sockets in presence (docs/guide.md#devices-and-presence, #socketio): each connection gets a newer epoch and takes over, so the
 * device's older sockets, on any instance, are closed as `replaced` and their late close changes nothing;
 * a live socket counts as a sign; a closed one takes the device offline; a revoked device's sockets are
 * closed on every instance. The socket `heartbeat` event is the HTTP heartbeat's use case.
 */
@Injectable()
export class AgentSocketHandlers implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(AgentSocketHandlers.name);
  private readonly presenceOf = new Map<AgentConnection, SocketPresence>();
  /** This instance's connections by device; usually one each, briefly two during a takeover. */
  private readonly byDevice = new Map<string, Set<AgentConnection>>();
  private readonly cleanups: (() => unknown)[] = [];
  private livenessTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly handlers: RealtimeHandlers,
    private readonly agent: AgentService,
    private readonly presence: PresenceService,
    private readonly credentials: DeviceCredentialsService,
    private readonly cache: Cache,
    private readonly shutdown: ShutdownState,
  ) {}

  async onModuleInit(): Promise<void> {
    this.handlers.agent.handle({
      event: 'heartbeat',
      summary:
        "A heartbeat over the socket: the HTTP heartbeat's use case (docs/guide.md#devices-and-presence)",
      payload: HeartbeatDto,
      ack: SOCKET_HEARTBEAT_ACK_SCHEMA,
      handle: (payload, connection) => this.heartbeat(connection, payload),
    });
    this.cleanups.push(
      this.handlers.agent.onConnected((connection) => {
        this.connected(connection);
      }),
      this.handlers.agent.onDisconnected((connection) => {
        void this.disconnected(connection);
      }),
      this.credentials.onRevoked((deviceId) => {
        this.closeLocal(deviceId, 'revoked');
      }),
      // The store forgot these devices: their sockets are live, so they sign again at once rather than
      // wait for the next liveness check, before the rebuilt deadlines judge them by older signs.
      this.presence.onStoreLost(() => {
        this.refreshSockets(0);
      }),
    );
    try {
      this.cleanups.push(
        await this.cache.subscribe(CONNECTED_CHANNEL, (message) => {
          const { deviceId, epoch } = JSON.parse(message) as { deviceId: string; epoch: number };
          this.closeLocal(deviceId, 'replaced', epoch);
        }),
      );
    } catch (error) {
      this.logger.warn(`Could not subscribe to agent takeovers yet: ${String(error)}`);
    }
    // A live socket counts as a sign (docs/guide.md#devices-and-presence) even from an agent that sends no heartbeat events.
    // A socket silent for an interval is refreshed at the next check, so the longest gap between its
    // signs is 1.25 intervals, short of stale (1.5); checking only once per interval allowed nearly 2.
    // Agents that heartbeat every interval are never silent that long and cost no extra write.
    const intervalMs = this.config.HEARTBEAT_INTERVAL_SEC * 1000;
    this.livenessTimer = setInterval(() => {
      this.refreshSockets(intervalMs);
    }, intervalMs / 4);
    this.livenessTimer.unref();
  }

  /** After the sockets closed: a connection accepted while the app was stopping is tracked all the same. */
  onApplicationShutdown(): void {
    clearInterval(this.livenessTimer);
    for (const cleanup of this.cleanups) void cleanup();
  }

  private async heartbeat(connection: AgentConnection, payload: HeartbeatDto): Promise<SocketHeartbeatAck> {
    const socket = this.presenceOf.get(connection);
    // Every connection is tracked before its events are dispatched; without its epoch a sign could
    // revive a replaced connection.
    if (!socket)
      throw new Error(`No presence for the socket ${connection.id} of ${connection.device.deviceId}`);
    const epoch = socket.knownEpoch ?? (await socket.epoch);
    const { serverTime, nextHeartbeatSec } = await this.agent.heartbeat(connection.device, payload, epoch);
    socket.lastSignAt = Date.now();
    return { serverTime, nextHeartbeatSec };
  }

  private connected(connection: AgentConnection): void {
    const { deviceId, customerId } = connection.device;
    const device = { id: deviceId, customerId };
    const socket: SocketPresence = { device, epoch: this.recordConnection(device), lastSignAt: Date.now() };
    this.presenceOf.set(connection, socket);
    let connections = this.byDevice.get(deviceId);
    if (!connections) {
      connections = new Set();
      this.byDevice.set(deviceId, connections);
    }
    connections.add(connection);
    socket.epoch.then(
      (epoch) => {
        socket.knownEpoch = epoch;
        this.closeLocal(deviceId, 'replaced', epoch);
        this.cache.publish(CONNECTED_CHANNEL, JSON.stringify({ deviceId, epoch })).catch((error: unknown) => {
          // The older socket elsewhere stays open, but its epoch is stale: its signs and its close
          // change nothing, and it goes once the cache is back or its connection drops.
          this.logger.warn(`Could not announce the connection of ${deviceId}: ${String(error)}`);
        });
      },
      (error: unknown) => {
        this.logger.warn(`Could not record the connection of ${deviceId}: ${String(error)}`);
        connection.close();
      },
    );
  }

  private async disconnected(connection: AgentConnection): Promise<void> {
    const socket = this.presenceOf.get(connection);
    if (!socket) return;
    this.presenceOf.delete(connection);
    const connections = this.byDevice.get(connection.device.deviceId);
    connections?.delete(connection);
    if (connections?.size === 0) this.byDevice.delete(connection.device.deviceId);
    // An instance that is shutting down leaves presence alone: its agents reconnect elsewhere, and if
    // they do not, the deadlines take them offline.
    if (this.shutdown.isShuttingDown) return;
    try {
      await this.presence.disconnect(socket.device, await socket.epoch);
    } catch (error) {
      this.logger.warn(`Could not record the disconnection of ${socket.device.id}: ${String(error)}`);
    }
  }

  /**
   * Presence must know the connection before its heartbeats count. Under a reconnection storm the cache
   * may be slow for a moment: a couple of quick retries avoid closing (and so re-queueing) the agent.
   */
  private async recordConnection(device: DeviceRef): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.presence.connect(device);
      } catch (error) {
        if (attempt >= CONNECT_ATTEMPTS) throw error;
        await sleep(CONNECT_RETRY_DELAY_MS * attempt);
      }
    }
  }

  /** Closes this instance's sockets of a device, or only those older than `newerEpoch`. */
  private closeLocal(deviceId: string, reason: 'replaced' | 'revoked', newerEpoch?: number): void {
    for (const connection of this.byDevice.get(deviceId) ?? []) {
      if (newerEpoch === undefined) {
        connection.close(reason);
        continue;
      }
      void this.presenceOf.get(connection)?.epoch.then(
        (epoch) => {
          if (epoch < newerEpoch) connection.close(reason);
        },
        () => undefined,
      );
    }
  }

  /** Signs for this instance's sockets that have been silent for at least `silentForMs`. */
  private refreshSockets(silentForMs: number): void {
    const now = Date.now();
    for (const socket of this.presenceOf.values()) {
      if (now - socket.lastSignAt < silentForMs) continue;
      socket.lastSignAt = now;
      socket.epoch
        .then((epoch) => this.presence.recordSign(socket.device, { epoch }))
        .catch((error: unknown) => {
          this.logger.warn(`Could not refresh the presence of ${socket.device.id}: ${String(error)}`);
        });
    }
  }
}

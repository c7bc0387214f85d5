import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BeforeApplicationShutdown,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import {
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
  WebSocketGateway,
} from '@nestjs/websockets';
import { type Namespace, type Socket } from 'socket.io';
import { HeartbeatDto } from '../devices/agent/dto/heartbeat.dto';
import { AuthFailure } from '../auth/auth.errors';
import { DeviceCredentialsService } from '../auth/device-credentials.service';
import { type DevicePrincipal } from '../auth/principal';
import { ShutdownState } from '../common/lifecycle/shutdown-state';
import { SchemaValidator } from '../common/validation/schema-validator';
import { AppConfig } from '../config/app-config';
import { Cache } from '../infra/cache/cache';
import { MetricsService } from '../infra/metrics/metrics.service';
import { PresenceService } from '../devices/presence/presence.service';
import { type ConnectionCloseReason, rooms } from './realtime.events';
import { authenticateHandshakes } from './socket-auth';
import { announceShutdown, closeConnection, handleEvent, refuseUnknownEvents } from './socket-events';

const CONNECT_ATTEMPTS = 3;
const CONNECT_RETRY_DELAY_MS = 200;

/** Announces a new connection to every instance, so the device's older sockets anywhere are closed. */
const CONNECTED_CHANNEL = 'agent-connected';

interface AgentSocketData {
  device: DevicePrincipal;
  /** Resolves to the connection's epoch once presence recorded the connection. */
  epoch: Promise<number>;
  lastSignAt: number;
}

type AgentSocket = Socket<
  Record<string, never>,
  Record<string, never>,
  Record<string, never>,
  AgentSocketData
>;

/**
 * `/agent` (PRODUCT §6): devices authenticate in the handshake with the same verification as HTTP, join
 * `device:<id>`, and heartbeat with acks into the same presence service. Each connection gets a newer
 * epoch and takes over: the device's older sockets, on any instance, are closed as `replaced`, and
 * their late close changes nothing. A revoked device's sockets are closed on every instance. An instance
 * that stops tells its sockets `shutdown` and closes them at the transport, so agents reconnect elsewhere.
 */
@WebSocketGateway({ namespace: '/agent' })
export class AgentGateway
  implements
    OnGatewayInit<Namespace>,
    OnGatewayConnection<AgentSocket>,
    OnGatewayDisconnect<AgentSocket>,
    OnModuleInit,
    OnModuleDestroy,
    BeforeApplicationShutdown
{
  private readonly logger = new Logger(AgentGateway.name);
  private readonly heartbeat = new SchemaValidator(HeartbeatDto);
  /** This instance's sockets by device; usually one each, briefly two during a takeover. */
  private readonly local = new Map<string, Set<AgentSocket>>();
  private readonly cleanups: (() => unknown)[] = [];
  private livenessTimer: NodeJS.Timeout | undefined;
  private namespace: Namespace | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly credentials: DeviceCredentialsService,
    private readonly presence: PresenceService,
    private readonly cache: Cache,
    private readonly metrics: MetricsService,
    private readonly shutdown: ShutdownState,
  ) {}

  async onModuleInit(): Promise<void> {
    this.cleanups.push(
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
    // A live socket counts as a sign (PRODUCT §5) even from an agent that sends no heartbeat events.
    // A socket silent for an interval is refreshed at the next check, so the longest gap between its
    // signs is 1.25 intervals, short of stale (1.5); checking only once per interval allowed nearly 2.
    // Agents that heartbeat every interval are never silent that long and cost no extra write.
    const intervalMs = this.config.HEARTBEAT_INTERVAL_SEC * 1000;
    this.livenessTimer = setInterval(() => {
      this.refreshSockets(intervalMs);
    }, intervalMs / 4);
    this.livenessTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.livenessTimer);
    for (const cleanup of this.cleanups) void cleanup();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.namespace) await announceShutdown(this.namespace);
  }

  afterInit(namespace: Namespace): void {
    this.namespace = namespace;
    authenticateHandshakes(
      namespace,
      'device',
      this.metrics,
      ({ deviceId, secret }) =>
        typeof deviceId === 'string' && typeof secret === 'string'
          ? this.credentials.verify(deviceId, secret)
          : Promise.resolve(new AuthFailure('missing', 'no deviceId and secret in the handshake')),
      (socket, device) => {
        (socket as AgentSocket).data.device = device;
      },
    );
  }

  handleConnection(socket: AgentSocket): void {
    const { device } = socket.data;
    const ref = { id: device.deviceId, customerId: device.customerId };
    socket.data.lastSignAt = Date.now();
    socket.data.epoch = this.recordConnection(ref);
    void socket.join(rooms.device(device.deviceId));
    let sockets = this.local.get(device.deviceId);
    if (!sockets) {
      sockets = new Set();
      this.local.set(device.deviceId, sockets);
    }
    sockets.add(socket);
    socket.data.epoch.then(
      (epoch) => {
        this.closeLocal(device.deviceId, 'replaced', epoch);
        this.cache
          .publish(CONNECTED_CHANNEL, JSON.stringify({ deviceId: device.deviceId, epoch }))
          .catch((error: unknown) => {
            // The older socket elsewhere stays open, but its epoch is stale: its signs and its close
            // change nothing, and it goes once the cache is back or its connection drops.
            this.logger.warn(`Could not announce the connection of ${device.deviceId}: ${String(error)}`);
          });
      },
      (error: unknown) => {
        this.logger.warn(`Could not record the connection of ${device.deviceId}: ${String(error)}`);
        socket.disconnect(true);
      },
    );

    refuseUnknownEvents(socket, ['heartbeat']);
    // Registered at once: an agent may send its first heartbeat before presence has answered.
    handleEvent(socket, 'heartbeat', this.heartbeat, async (payload) => {
      const epoch = await socket.data.epoch;
      await this.presence.recordSign(ref, {
        heartbeat: payload as unknown as Record<string, unknown>,
        agentVersion: payload.agentVersion,
        epoch,
      });
      socket.data.lastSignAt = Date.now();
      return { serverTime: new Date().toISOString(), nextHeartbeatSec: this.config.HEARTBEAT_INTERVAL_SEC };
    });
  }

  async handleDisconnect(socket: AgentSocket): Promise<void> {
    const device = socket.data.device as DevicePrincipal | undefined;
    if (!device) return;
    const sockets = this.local.get(device.deviceId);
    sockets?.delete(socket);
    if (sockets?.size === 0) this.local.delete(device.deviceId);
    // An instance that is shutting down leaves presence alone: its agents reconnect elsewhere, and if
    // they do not, the deadlines take them offline.
    if (this.shutdown.isShuttingDown) return;
    try {
      const epoch = await socket.data.epoch;
      await this.presence.disconnect({ id: device.deviceId, customerId: device.customerId }, epoch);
    } catch (error) {
      this.logger.warn(`Could not record the disconnection of ${device.deviceId}: ${String(error)}`);
    }
  }

  /**
   * Presence must know the connection before its heartbeats count. Under a reconnection storm the cache
   * may be slow for a moment: a couple of quick retries avoid closing (and so re-queueing) the agent.
   */
  private async recordConnection(ref: { id: string; customerId: string }): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.presence.connect(ref);
      } catch (error) {
        if (attempt >= CONNECT_ATTEMPTS) throw error;
        await sleep(CONNECT_RETRY_DELAY_MS * attempt);
      }
    }
  }

  /** Closes this instance's sockets of a device, or only those older than `newerEpoch`. */
  private closeLocal(
    deviceId: string,
    reason: Extract<ConnectionCloseReason, 'replaced' | 'revoked'>,
    newerEpoch?: number,
  ): void {
    for (const socket of this.local.get(deviceId) ?? []) {
      if (newerEpoch === undefined) {
        closeConnection(socket, reason);
        continue;
      }
      void socket.data.epoch.then(
        (epoch) => {
          if (epoch < newerEpoch) closeConnection(socket, reason);
        },
        () => undefined,
      );
    }
  }

  /** Signs for this instance's sockets that have been silent for at least `silentForMs`. */
  private refreshSockets(silentForMs: number): void {
    const now = Date.now();
    for (const sockets of this.local.values()) {
      for (const socket of sockets) {
        if (now - socket.data.lastSignAt < silentForMs) continue;
        const { device } = socket.data;
        socket.data.lastSignAt = now;
        socket.data.epoch
          .then((epoch) =>
            this.presence.recordSign({ id: device.deviceId, customerId: device.customerId }, { epoch }),
          )
          .catch((error: unknown) => {
            this.logger.warn(`Could not refresh the presence of ${device.deviceId}: ${String(error)}`);
          });
      }
    }
  }
}

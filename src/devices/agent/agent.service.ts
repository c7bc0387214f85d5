import { Injectable } from '@nestjs/common';
import { AuditLogRepository } from '../../audit/audit-log.repository';
import { actorOf, type DevicePrincipal } from '../../auth/principal';
import { integer, object, string, timestamp, uuid } from '../../common/docs/typed-schema';
import { AppConfig } from '../../config/app-config';
import { DeviceRepository } from '../device.repository';
import { DeviceNotFoundError } from '../devices.errors';
import { PresenceService } from '../presence/presence.service';
import { type HeartbeatDto } from './dto/heartbeat.dto';
import { type RegisterAgentDto } from './dto/register-agent.dto';

export interface RegisterResponse {
  deviceId: string;
  heartbeatIntervalSec: number;
  commandAckTimeoutSec: number;
  realtime: { namespace: string; path: string };
}

export interface HeartbeatResponse {
  serverTime: string;
  nextHeartbeatSec: number;
  pendingCommands: number;
}

export const REGISTER_RESPONSE_SCHEMA = object<RegisterResponse>({
  deviceId: uuid(),
  heartbeatIntervalSec: integer({ description: 'How often to send a heartbeat' }),
  commandAckTimeoutSec: integer({ description: 'How soon a delivered command must be acknowledged' }),
  realtime: object<RegisterResponse['realtime']>({
    namespace: string({ examples: ['/agent'] }),
    path: string({ examples: ['/socket.io'] }),
  }),
});

export const HEARTBEAT_RESPONSE_SCHEMA = object<HeartbeatResponse>({
  serverTime: timestamp(),
  nextHeartbeatSec: integer({ description: 'When to send the next heartbeat' }),
  pendingCommands: integer({ description: 'Commands queued for the device' }),
});

/** What device agents do over HTTP (docs/guide.md#devices-and-presence). */
@Injectable()
export class AgentService {
  constructor(
    private readonly config: AppConfig,
    private readonly devices: DeviceRepository,
    private readonly presence: PresenceService,
    private readonly audit: AuditLogRepository,
  ) {}

  /** Idempotent: the first call activates the device; later calls refresh what the agent reports. */
  async register(principal: DevicePrincipal, input: RegisterAgentDto): Promise<RegisterResponse> {
    const existing = await this.devices.findById(principal.deviceId);
    if (!existing || existing.status === 'revoked') throw new DeviceNotFoundError(principal.deviceId);
    const firstRegistration = existing.status === 'provisioned';
    const now = new Date();
    const updated = await this.devices.update(principal.deviceId, {
      agentVersion: input.agentVersion,
      hardware: input.hardware ?? null,
      capabilities: input.capabilities,
      ...(firstRegistration ? { status: 'active' as const, registeredAt: now } : {}),
    });
    if (!updated) throw new DeviceNotFoundError(principal.deviceId);
    if (firstRegistration) {
      await this.audit.append({
        actor: actorOf(principal),
        action: 'device.registered',
        subjectType: 'device',
        subjectId: updated.id,
        customerId: updated.customerId,
        details: { agentVersion: input.agentVersion, hardware: input.hardware ?? null },
      });
    }
    await this.presence.recordSign({ id: updated.id, customerId: updated.customerId });
    return {
      deviceId: updated.id,
      heartbeatIntervalSec: this.config.HEARTBEAT_INTERVAL_SEC,
      commandAckTimeoutSec: this.config.COMMAND_ACK_TIMEOUT_SEC,
      realtime: { namespace: '/agent', path: '/socket.io' },
    };
  }

  /**
   * The hot path, over HTTP and over the socket: one atomic cache step, and a database write at most once
   * per persistence interval. `epoch` is the socket connection's (see PresenceService.recordSign).
   */
  async heartbeat(
    principal: DevicePrincipal,
    input: HeartbeatDto,
    epoch?: number,
  ): Promise<HeartbeatResponse> {
    const { pendingCommands } = await this.presence.recordSign(
      { id: principal.deviceId, customerId: principal.customerId },
      { heartbeat: input as unknown as Record<string, unknown>, agentVersion: input.agentVersion, epoch },
    );
    return {
      serverTime: new Date().toISOString(),
      nextHeartbeatSec: this.config.HEARTBEAT_INTERVAL_SEC,
      pendingCommands,
    };
  }
}

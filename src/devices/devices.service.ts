import { Injectable, Logger } from '@nestjs/common';
import { AuditLogRepository } from '../audit/audit-log.repository';
import { DeviceCredentialsService } from '../auth/device-credentials.service';
import { actorOf, type CustomerPrincipal } from '../auth/principal';
import { object, string, uuid } from '../common/docs/typed-schema';
import { ForbiddenError } from '../common/errors/common.errors';
import { PresenceService } from './presence/presence.service';
import { type DeviceRecord, type PresenceState } from './device';
import { DeviceRepository } from './device.repository';
import { DeviceRevocations } from './device-revocations';
import { DeviceNotFoundError } from './devices.errors';
import { type CreateDeviceDto } from './dto/create-device.dto';
import { DEVICE_SCHEMA, type DeviceResponse, toDeviceResponse } from './dto/device.response';
import { type ListDevicesQuery } from './dto/list-devices.query';
import { type UpdateDeviceDto } from './dto/update-device.dto';

/**
 * The recorded states from which a device may be in the given live state now. A recorded row only ages
 * (online, then stale, then offline) until a sign writes online again, and that write is made at once.
 */
const RECORDED_STATES_FOR: Record<PresenceState, readonly PresenceState[]> = {
  unknown: ['unknown'],
  online: ['online'],
  stale: ['online', 'stale'],
  offline: ['online', 'stale', 'offline'],
};

/** What another feature knows of a device it acts on. */
export type DeviceRef = Pick<DeviceRecord, 'id' | 'customerId' | 'capabilities'>;

export interface CreatedDevice {
  device: DeviceResponse;
  credentials: { deviceId: string; secret: string };
}

export const CREATED_DEVICE_SCHEMA = object<CreatedDevice>({
  device: DEVICE_SCHEMA,
  credentials: object<CreatedDevice['credentials']>({
    deviceId: uuid(),
    secret: string({ description: "The device's secret: shown this once, stored only as a hash" }),
  }),
});

/** Customers' devices (docs/guide.md#devices-and-presence). A device of another customer is "not found", never "forbidden". */
@Injectable()
export class DevicesService {
  private readonly logger = new Logger(DevicesService.name);

  constructor(
    private readonly devices: DeviceRepository,
    private readonly credentials: DeviceCredentialsService,
    private readonly presence: PresenceService,
    private readonly audit: AuditLogRepository,
    private readonly revocations: DeviceRevocations,
  ) {}

  async create(customer: CustomerPrincipal, input: CreateDeviceDto): Promise<CreatedDevice> {
    const secret = this.credentials.generateSecret();
    const device = await this.devices.create({
      customerId: customer.userId,
      name: input.name,
      serial: input.serial ?? null,
      secretHash: this.credentials.hashSecret(secret),
    });
    // Best effort, as for revocations: the device exists whatever happens to the broadcast.
    await this.credentials.announceCreation(device.id).catch((error: unknown) => {
      this.logger.warn(
        `Creation of ${device.id} not broadcast (${String(error)}); an instance that refused its id a ` +
          'moment before accepts it once its cache connection resumes or its verification cache expires',
      );
    });
    await this.audit.append({
      actor: actorOf(customer),
      action: 'device.created',
      subjectType: 'device',
      subjectId: device.id,
      customerId: device.customerId,
      details: { name: device.name, serial: device.serial },
    });
    return {
      // A device just created has never been seen: no need to ask the presence store.
      device: toDeviceResponse(device, unknownPresence()),
      credentials: { deviceId: device.id, secret },
    };
  }

  async list(
    customer: CustomerPrincipal,
    query: ListDevicesQuery,
  ): Promise<{ items: DeviceResponse[]; nextCursor: string | null }> {
    const page = await this.devices.list({
      customerId: customer.isAdmin ? undefined : customer.userId,
      presenceStates: query.state === undefined ? undefined : RECORDED_STATES_FOR[query.state],
      cursor: query.cursor,
      limit: query.limit,
    });
    const presence = await this.presence.views(page.items);
    const items = page.items.map((device, index) =>
      toDeviceResponse(device, presence[index] ?? unknownPresence()),
    );
    return {
      // The row's state is what the last transition wrote; live presence may have moved on since (a
      // deadline passed before its sweep, or while the hot state was being rebuilt). A device is listed
      // under a state only when it is in it now, so a page may hold fewer than `limit` devices, and the
      // database is asked for every recorded state the device may have aged into the asked one from.
      items: query.state === undefined ? items : items.filter((item) => item.presence.state === query.state),
      nextCursor: page.nextCursor,
    };
  }

  /**
   * How many commands wait in the device's queue, told by the delivery engine after each change of it:
   * the heartbeat answers with it (pendingCommands) without reading commands.
   */
  recordPendingCommands(deviceId: string, count: number): Promise<void> {
    return this.presence.setPendingCommands(deviceId, count);
  }

  /** The current view of a live device, without an access check: for pushing updates to its watchers. */
  async snapshot(deviceId: string): Promise<DeviceResponse | null> {
    const device = await this.devices.findById(deviceId);
    if (!device || device.status === 'revoked') return null;
    return this.respond(device);
  }

  async get(customer: CustomerPrincipal, deviceId: string): Promise<DeviceResponse> {
    const device = await this.readable(customer, deviceId);
    return this.respond(device);
  }

  async rename(
    customer: CustomerPrincipal,
    deviceId: string,
    input: UpdateDeviceDto,
  ): Promise<DeviceResponse> {
    await this.owned(customer, deviceId);
    const device = await this.devices.update(deviceId, { name: input.name });
    if (!device) throw new DeviceNotFoundError(deviceId);
    return this.respond(device);
  }

  /** Revokes the credentials everywhere and forgets the device's presence; the row stays for the audit. */
  async remove(customer: CustomerPrincipal, deviceId: string): Promise<void> {
    await this.owned(customer, deviceId);
    const revoked = await this.devices.revoke(deviceId);
    if (!revoked) throw new DeviceNotFoundError(deviceId);
    // The database says revoked from here on: what follows is best effort and must not turn the answer
    // into an error (a retry would find nothing to delete, and the audit event would be lost).
    await this.credentials.revoke(revoked.id).catch((error: unknown) => {
      this.logger.warn(
        `Revocation of ${revoked.id} not broadcast (${String(error)}); other instances drop it when their ` +
          'cache connection resumes or their verification cache expires',
      );
    });
    await this.presence.forget(revoked.id).catch((error: unknown) => {
      this.logger.warn(`Could not clear presence of revoked device ${revoked.id}: ${String(error)}`);
    });
    await this.revocations.announce({
      deviceId: revoked.id,
      customerId: revoked.customerId,
      revokedBy: actorOf(customer),
    });
    await this.audit.append({
      actor: actorOf(customer),
      action: 'device.revoked',
      subjectType: 'device',
      subjectId: revoked.id,
      customerId: revoked.customerId,
    });
  }

  /**
   * A live device the customer may act on, for features that act on devices (opening a session): its
   * own, "not found" for another customer's, and forbidden to an admin for a device not its own, as the
   * device's own routes answer.
   */
  async actionable(customer: CustomerPrincipal, deviceId: string): Promise<DeviceRef> {
    const device = await this.owned(customer, deviceId);
    return { id: device.id, customerId: device.customerId, capabilities: device.capabilities };
  }

  private async respond(device: DeviceRecord): Promise<DeviceResponse> {
    const [presence] = await this.presence.views([device]);
    return toDeviceResponse(device, presence ?? unknownPresence());
  }

  /** The customer's own live device, or any live device for an admin. */
  private async readable(customer: CustomerPrincipal, deviceId: string): Promise<DeviceRecord> {
    const device = await this.devices.findById(deviceId);
    if (!device || device.status === 'revoked') throw new DeviceNotFoundError(deviceId);
    if (device.customerId !== customer.userId && !customer.isAdmin) throw new DeviceNotFoundError(deviceId);
    return device;
  }

  /** Only the owner changes a device; an admin reads every device but changes only its own. */
  private async owned(customer: CustomerPrincipal, deviceId: string): Promise<DeviceRecord> {
    const device = await this.readable(customer, deviceId);
    if (device.customerId !== customer.userId) {
      throw new ForbiddenError('Admins may read every device but change only their own.');
    }
    return device;
  }
}

function unknownPresence() {
  return { state: 'unknown' as const, lastSeenAt: null, lastHeartbeat: null };
}

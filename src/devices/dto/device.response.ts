import { type DeviceHardware, type DeviceRecord, type DeviceStatus } from '../device';
import { type PresenceView } from '../presence/presence.service';

/** A device as clients see it (PRODUCT §3.2): never the credential hash. */
export interface DeviceResponse {
  id: string;
  customerId: string;
  name: string;
  serial: string | null;
  status: DeviceStatus;
  agentVersion: string | null;
  hardware: DeviceHardware | null;
  capabilities: string[];
  registeredAt: string | null;
  createdAt: string;
  updatedAt: string;
  presence: {
    state: PresenceView['state'];
    lastSeenAt: string | null;
    lastHeartbeat: Record<string, unknown> | null;
  };
}

export function toDeviceResponse(device: DeviceRecord, presence: PresenceView): DeviceResponse {
  return {
    id: device.id,
    customerId: device.customerId,
    name: device.name,
    serial: device.serial,
    status: device.status,
    agentVersion: device.agentVersion,
    hardware: device.hardware,
    capabilities: device.capabilities,
    registeredAt: device.registeredAt?.toISOString() ?? null,
    createdAt: device.createdAt.toISOString(),
    updatedAt: device.updatedAt.toISOString(),
    presence: {
      state: presence.state,
      lastSeenAt: presence.lastSeenAt?.toISOString() ?? null,
      lastHeartbeat: presence.lastHeartbeat,
    },
  };
}

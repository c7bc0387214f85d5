import {
  nullable,
  named,
  object,
  oneOfValues,
  openObject,
  optional,
  string,
  array,
  timestamp,
  uuid,
} from '../../common/docs/typed-schema';
import {
  DEVICE_STATUSES,
  type DeviceHardware,
  type DeviceRecord,
  type DeviceStatus,
  PRESENCE_STATES,
} from '../device';
import { type PresenceView } from '../presence/presence.service';

/** A device as clients see it (docs/guide.md#devices-and-presence): never the credential hash. */
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

const HARDWARE_SCHEMA = object<DeviceHardware>({
  model: optional(string()),
  serial: optional(string()),
  os: optional(string()),
  kernel: optional(string()),
});

/** The Device object in the API documents. */
export const DEVICE_SCHEMA = named(
  'Device',
  object<DeviceResponse>({
    id: uuid(),
    customerId: uuid('The Supabase Auth user the device belongs to'),
    name: string(),
    serial: nullable(string()),
    status: oneOfValues(DEVICE_STATUSES, '`provisioned` until its agent first registers, then `active`'),
    agentVersion: nullable(string()),
    hardware: nullable(HARDWARE_SCHEMA),
    capabilities: array(string(), { description: 'The command types its agent said it runs' }),
    registeredAt: nullable(timestamp()),
    createdAt: timestamp(),
    updatedAt: timestamp(),
    presence: object<DeviceResponse['presence']>({
      state: oneOfValues(
        PRESENCE_STATES,
        'unknown (never seen), online, stale, offline: docs/guide.md#devices-and-presence',
      ),
      lastSeenAt: nullable(timestamp()),
      lastHeartbeat: nullable(openObject('The last heartbeat body, as the agent sent it')),
    }),
  }),
);

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

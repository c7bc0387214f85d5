export const DEVICE_STATUSES = ['provisioned', 'active', 'revoked'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export const PRESENCE_STATES = ['unknown', 'online', 'stale', 'offline'] as const;
export type PresenceState = (typeof PRESENCE_STATES)[number];

export interface DeviceHardware {
  model?: string;
  serial?: string;
  os?: string;
  kernel?: string;
}

/** A device as stored. Never sent to clients as is: it carries the credential hash. */
export interface DeviceRecord {
  id: string;
  customerId: string;
  name: string;
  serial: string | null;
  status: DeviceStatus;
  secretHash: string;
  agentVersion: string | null;
  hardware: DeviceHardware | null;
  capabilities: string[];
  presenceState: PresenceState;
  lastSeenAt: Date | null;
  lastHeartbeat: Record<string, unknown> | null;
  registeredAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewDevice {
  customerId: string;
  name: string;
  serial: string | null;
  secretHash: string;
}

/** Fields a later step may change; revocation has its own operation. */
export type DeviceChanges = Partial<
  Pick<
    DeviceRecord,
    | 'name'
    | 'status'
    | 'agentVersion'
    | 'hardware'
    | 'capabilities'
    | 'presenceState'
    | 'lastSeenAt'
    | 'lastHeartbeat'
    | 'registeredAt'
  >
>;

/**
 * A throttled heartbeat as presence writes it, many devices per statement (DeviceRepository.recordSigns):
 * the payload, the agent version it named (null: keep the recorded one) and when it was seen.
 */
export interface HeartbeatSign {
  deviceId: string;
  seenAt: Date;
  heartbeat: Record<string, unknown>;
  agentVersion: string | null;
}

export interface DeviceListQuery {
  /** Omitted for an admin, who reads every customer's devices. */
  customerId?: string;
  /** Devices whose recorded state is any of these; all when omitted. */
  presenceStates?: readonly PresenceState[];
  cursor?: string;
  limit: number;
}

/** Counts of the migration's count_devices_by_presence, every state present. */
export function presenceCountsOf(
  rows: readonly { presence_state: string; devices: string | number }[],
): Record<PresenceState, number> {
  const counts = Object.fromEntries(PRESENCE_STATES.map((state) => [state, 0])) as Record<
    PresenceState,
    number
  >;
  for (const row of rows) {
    if ((PRESENCE_STATES as readonly string[]).includes(row.presence_state)) {
      counts[row.presence_state as PresenceState] = Number(row.devices);
    }
  }
  return counts;
}

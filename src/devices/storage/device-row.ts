import { isUuid } from '../../common/uuid';
import {
  type DeviceChanges,
  type DeviceHardware,
  type DeviceRecord,
  type DeviceStatus,
  type HeartbeatSign,
  type PresenceState,
} from '../device';

/** A `devices` row as both pg/PGlite (dates as Date) and PostgREST (dates as strings) return it. */
export interface DeviceRow {
  id: string;
  customer_id: string;
  name: string;
  serial: string | null;
  status: DeviceStatus;
  secret_hash: string;
  agent_version: string | null;
  hardware: DeviceHardware | null;
  capabilities: string[] | null;
  presence_state: PresenceState;
  last_seen_at: Date | string | null;
  last_heartbeat: Record<string, unknown> | null;
  registered_at: Date | string | null;
  revoked_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const toDate = (value: Date | string): Date => new Date(value);
const toOptionalDate = (value: Date | string | null): Date | null =>
  value === null ? null : new Date(value);

export function toDeviceRecord(row: DeviceRow): DeviceRecord {
  return {
    id: row.id,
    customerId: row.customer_id,
    name: row.name,
    serial: row.serial,
    status: row.status,
    secretHash: row.secret_hash,
    agentVersion: row.agent_version,
    hardware: row.hardware,
    capabilities: row.capabilities ?? [],
    presenceState: row.presence_state,
    lastSeenAt: toOptionalDate(row.last_seen_at),
    lastHeartbeat: row.last_heartbeat,
    registeredAt: toOptionalDate(row.registered_at),
    revokedAt: toOptionalDate(row.revoked_at),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

/** Column of each changeable field. A Record, so a new field without a column fails to compile. */
export const DEVICE_CHANGE_COLUMNS: Record<keyof Required<DeviceChanges>, keyof DeviceRow> = {
  name: 'name',
  status: 'status',
  agentVersion: 'agent_version',
  hardware: 'hardware',
  capabilities: 'capabilities',
  presenceState: 'presence_state',
  lastSeenAt: 'last_seen_at',
  lastHeartbeat: 'last_heartbeat',
  registeredAt: 'registered_at',
};

/** The changes as column → value, skipping fields left undefined. */
export function deviceChangesToColumns(changes: DeviceChanges): [keyof DeviceRow, unknown][] {
  return (Object.keys(DEVICE_CHANGE_COLUMNS) as (keyof DeviceChanges)[])
    .filter((field) => changes[field] !== undefined)
    .map((field) => {
      const value = changes[field];
      return [DEVICE_CHANGE_COLUMNS[field], value instanceof Date ? value.toISOString() : value];
    });
}

/** One sign as the record_device_signs function reads it. */
export interface SignRow {
  id: string;
  seen_at: string;
  heartbeat: Record<string, unknown>;
  agent_version: string | null;
}

/**
 * The rows a batch writes: one per well-formed id, the newest sign (the later in the batch on a tie), so
 * that the statement never meets two rows for one device, and a malformed id cannot fail the whole batch.
 */
export function signRowsOf(signs: readonly HeartbeatSign[]): SignRow[] {
  const newest = new Map<string, HeartbeatSign>();
  for (const sign of signs) {
    if (!isUuid(sign.deviceId)) continue;
    const key = sign.deviceId.toLowerCase();
    const kept = newest.get(key);
    if (!kept || sign.seenAt.getTime() >= kept.seenAt.getTime()) newest.set(key, sign);
  }
  return [...newest.values()].map((sign) => ({
    id: sign.deviceId,
    seen_at: sign.seenAt.toISOString(),
    heartbeat: sign.heartbeat,
    agent_version: sign.agentVersion,
  }));
}

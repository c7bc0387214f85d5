import { type Page } from '../infra/database/keyset-cursor';
import {
  type DeviceChanges,
  type DeviceListQuery,
  type DeviceRecord,
  type HeartbeatSign,
  type NewDevice,
  type PresenceState,
} from './device';

/**
 * Storage port for devices. Adapters: SQL (PostgreSQL pool and embedded PGlite) and Supabase (PostgREST).
 * Every adapter passes the same contract suite in test/storage.
 */
export abstract class DeviceRepository {
  /** Throws DeviceSerialTakenError when the customer already has a live device with that serial. */
  abstract create(device: NewDevice): Promise<DeviceRecord>;

  /** Revoked devices are returned too: callers decide what a revoked device means to them. */
  abstract findById(id: string): Promise<DeviceRecord | null>;

  /** Live (not revoked) devices in creation order, one page at a time. */
  abstract list(query: DeviceListQuery): Promise<Page<DeviceRecord>>;

  /**
   * Live (not revoked) devices whose recorded presence is one of `states`, across customers, in id order
   * after `afterId`, at most `limit`: for rebuilding the hot presence state from the database.
   */
  abstract listByPresence(
    states: readonly PresenceState[],
    page: { afterId?: string; limit: number },
  ): Promise<DeviceRecord[]>;

  /** Live (not revoked) devices of every customer by recorded presence state; states without any are 0. */
  abstract countByPresence(): Promise<Record<PresenceState, number>>;

  /** Returns null when the device does not exist or is revoked. */
  abstract update(id: string, changes: DeviceChanges): Promise<DeviceRecord | null>;

  /**
   * Writes throttled heartbeats of many devices in one statement, returning nothing: each live device's
   * payload, its agent version when the sign names one, and its last sign, which never moves back. The
   * presence state is left alone (transitions are written at once, by update()), so a batch written after
   * a transition never undoes it. Revoked devices and unknown or malformed ids are skipped; of several
   * signs of one device, the newest counts.
   */
  abstract recordSigns(signs: readonly HeartbeatSign[]): Promise<void>;

  /** Marks a live device revoked; returns null when it does not exist or was already revoked. */
  abstract revoke(id: string): Promise<DeviceRecord | null>;
}

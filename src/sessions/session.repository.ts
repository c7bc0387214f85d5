import { type Page } from '../infra/database/keyset-cursor';
import { type NewSession, type SessionClosing, type SessionListQuery, type SessionRecord } from './session';

/**
 * Storage port for diagnostic sessions. Adapters: SQL (PostgreSQL pool and embedded PGlite) and Supabase
 * (PostgREST), both through the `open_diagnostic_session` SQL function; every adapter passes the same
 * contract suite in test/storage.
 */
export abstract class SessionRepository {
  /**
   * Opens a session on a live device of `customerId`. Throws SessionAlreadyOpenError naming the device's
   * open session when it has one (a unique index decides between concurrent opens), and DeviceNotFoundError
   * when the device is not this customer's or is revoked, also when it was revoked a moment before.
   */
  abstract open(session: NewSession): Promise<SessionRecord>;

  abstract findById(id: string): Promise<SessionRecord | null>;

  /** Sessions in creation order, one page at a time. */
  abstract list(query: SessionListQuery): Promise<Page<SessionRecord>>;

  /** Closes an open session; null when it does not exist or is already closed. */
  abstract close(id: string, closing: SessionClosing): Promise<SessionRecord | null>;
}

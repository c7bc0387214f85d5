import { type Actor } from '../audit/audit-event';

export const SESSION_STATES = ['open', 'closed'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** Why a session closed: its customer asked, or its device was deleted. */
export const SESSION_CLOSE_REASONS = ['requested', 'device_revoked'] as const;
export type SessionCloseReason = (typeof SESSION_CLOSE_REASONS)[number];

/** A diagnostic session as stored: a customer working on one device, open until closed. */
export interface SessionRecord {
  id: string;
  deviceId: string;
  customerId: string;
  state: SessionState;
  reason: string | null;
  openedBy: Actor;
  openedAt: Date;
  closedBy: Actor | null;
  closedAt: Date | null;
  closeReason: SessionCloseReason | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewSession {
  deviceId: string;
  /** The device's owner: a session belongs to the customer whose device it is on. */
  customerId: string;
  reason: string | null;
  openedBy: Actor;
}

export interface SessionClosing {
  closedBy: Actor;
  closeReason: SessionCloseReason;
}

export interface SessionListQuery {
  /** Omitted for readers of every customer's sessions (admins). */
  customerId?: string;
  deviceId?: string;
  state?: SessionState;
  cursor?: string;
  limit: number;
}

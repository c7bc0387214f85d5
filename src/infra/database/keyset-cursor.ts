import { InvalidCursorError } from '../../common/errors/common.errors';
import { isUuid } from '../../common/uuid';

/** Position after the last row of a page ordered by (created_at, id). Opaque to clients. */
export interface KeysetPosition {
  createdAt: string;
  id: string;
}

export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(`${position.createdAt}|${position.id}`, 'utf8').toString('base64url');
}

/**
 * Years 1 to 9999, as toISOString writes them: JavaScript dates reach further (years before 1 and past
 * 9999, written with a sign) than a timestamp PostgreSQL reads back without an error.
 */
const STORABLE_ISO_DATE = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function decodeCursor(cursor: string): KeysetPosition {
  const [createdAt, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || createdAt === undefined || id === undefined || !isUuid(id)) {
    throw new InvalidCursorError();
  }
  const date = new Date(createdAt);
  const iso = Number.isNaN(date.getTime()) ? '' : date.toISOString();
  if (!STORABLE_ISO_DATE.test(iso)) throw new InvalidCursorError();
  return { createdAt: iso, id };
}

/** One page of a listing in keyset order, and the cursor of the next page (null on the last). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Pages are fetched with one extra row: its presence says whether a next page exists. */
export function toPage<T extends { createdAt: Date; id: string }>(records: T[], limit: number): Page<T> {
  const items = records.slice(0, limit);
  const last = items.at(-1);
  const nextCursor =
    records.length > limit && last
      ? encodeCursor({ createdAt: last.createdAt.toISOString(), id: last.id })
      : null;
  return { items, nextCursor };
}

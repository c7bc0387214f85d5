import { createHash } from 'node:crypto';
import { type FieldError } from '../../common/errors/domain-error';

/** How long an Idempotency-Key answers with the command it created (docs/guide.md#commands). */
export const IDEMPOTENCY_WINDOW_SEC = 24 * 3600;

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** Visible ASCII and spaces: what a client generates (a UUID, a random token), and safe in a log line. */
const PRINTABLE = /^[\x20-\x7e]{1,255}$/;

/** The header's value when it is a usable key, or the field error to answer with. */
export function checkIdempotencyKey(
  value: string | undefined,
): { value: string | null } | { errors: FieldError[] } {
  if (value === undefined) return { value: null };
  if (PRINTABLE.test(value) && value.trim() !== '') return { value };
  return {
    errors: [
      {
        field: IDEMPOTENCY_KEY_HEADER,
        message: `${IDEMPOTENCY_KEY_HEADER} must be 1 to 255 printable ASCII characters`,
      },
    ],
  };
}

/** JSON with every object's keys sorted, so that one request has one text whatever its key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The digest that tells a retry from a different request made with the same key: the session it is
 * issued in, and what the command would be (its type, its params, and the timeout it would run with,
 * so that leaving out `timeoutSec` and sending its default are one request).
 */
export function requestHashOf(request: {
  sessionId: string;
  type: string;
  params: Record<string, unknown>;
  timeoutSec: number;
}): string {
  return createHash('sha256')
    .update(
      canonicalJson({
        sessionId: request.sessionId.toLowerCase(),
        type: request.type,
        params: request.params,
        timeoutSec: request.timeoutSec,
      }),
    )
    .digest('hex');
}

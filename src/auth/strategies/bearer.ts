import { AuthFailure } from '../auth.errors';

/** `Authorization: Bearer <token>`. */
export function parseBearer(header: string | undefined): string | AuthFailure {
  if (header === undefined) return new AuthFailure('missing', 'no Authorization header');
  const match = /^Bearer ([\x21-\x7e]{1,8192})$/i.exec(header.trim());
  return match?.[1] ?? new AuthFailure('malformed', 'not a Bearer credential');
}

import { DependencyUnavailableError } from '../../../common/errors/common.errors';

export interface PostgrestFailure {
  code: string;
  message: string;
  details?: string | null;
  hint?: string | null;
}

/**
 * A failed data API call, with a code that says why: the SQLSTATE or PGRSTxxx PostgREST answered, or
 * for a call that never got an answer the network error (ECONNREFUSED...) or ABORT_ERR (timed out).
 */
export class PostgrestCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PostgrestCallError';
  }
}

/**
 * supabase-js reports a call that got no answer with an empty code, the network error's code only in
 * the text of `details` ("… (ECONNREFUSED)"), and a timeout only in `hint`.
 */
function codeOf(error: PostgrestFailure): string {
  if (error.code) return error.code;
  const networkCode = /\(([A-Z][A-Z0-9_]+)\)\s*$/m.exec(error.details ?? '')?.[1];
  if (networkCode !== undefined) return networkCode;
  if (/aborted/i.test(error.hint ?? '')) return 'ABORT_ERR';
  return 'NETWORK_ERROR';
}

export function failureFrom(error: PostgrestFailure): DependencyUnavailableError {
  return new DependencyUnavailableError('database', new PostgrestCallError(codeOf(error), error.message));
}

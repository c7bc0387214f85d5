import { DependencyFailedError } from '../../../common/errors/common.errors';

export interface PostgrestFailure {
  code: string;
  message: string;
  details?: string | null;
  hint?: string | null;
}

/** The SQLSTATE or PostgREST code of a failed call; network failures and timeouts have an empty code. */
export function failureFrom(error: PostgrestFailure): DependencyFailedError {
  return new DependencyFailedError('database', new Error(`${error.code || 'network'}: ${error.message}`));
}

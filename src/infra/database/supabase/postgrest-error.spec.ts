import { failureFrom, PostgrestCallError } from './postgrest-error';

describe('failureFrom', () => {
  it('keeps the code PostgREST answered with', () => {
    const failure = failureFrom({ code: 'PGRST000', message: 'Database connection error.' });

    expect(failure).toMatchObject({ dependency: 'database', code: 'dependency_unavailable' });
    expect(failure.cause).toBeInstanceOf(PostgrestCallError);
    expect(failure.cause).toMatchObject({ code: 'PGRST000' });
  });

  it('finds the network error of a call that got no answer in its details', () => {
    // As supabase-js 2.109 reports a refused connection: empty code, the errno at the end of a line.
    const failure = failureFrom({
      code: '',
      message: 'TypeError: fetch failed',
      details:
        'TypeError: fetch failed\n\nCaused by: Error: connect ECONNREFUSED 127.0.0.1:9 (ECONNREFUSED)\n' +
        'Error: connect ECONNREFUSED 127.0.0.1:9\n    at TCPConnectWrap.afterConnect (node:net:1555:16)',
      hint: '',
    });

    expect(failure.cause).toMatchObject({ code: 'ECONNREFUSED', message: 'TypeError: fetch failed' });
  });

  it('calls an aborted call (the configured timeout) ABORT_ERR', () => {
    const failure = failureFrom({
      code: '',
      message: 'AbortError: This operation was aborted',
      details:
        'AbortError: This operation was aborted\n    at new DOMException (node:internal/per_context/domexception:53:5)',
      hint: 'Request was aborted (timeout or manual cancellation)',
    });

    expect(failure.cause).toMatchObject({ code: 'ABORT_ERR' });
  });
});

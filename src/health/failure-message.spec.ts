import { DependencyUnavailableError } from '../common/errors/common.errors';
import { DeadlineExceededError } from '../common/with-timeout';
import { PostgrestCallError } from '../infra/database/supabase/postgrest-error';
import { RedisDisconnectedError } from '../infra/redis/redis-client.provider';
import { describeFailure } from './failure-message';

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

describe('describeFailure', () => {
  it('says a refused connection is not reachable, whatever wraps it', () => {
    const refused = withCode('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED');
    const offline = new RedisDisconnectedError(
      refused,
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    );

    expect(describeFailure(new DependencyUnavailableError('cache', offline))).toBe(
      'not reachable (connection refused)',
    );
  });

  it('names the time a check was given when it ran out', () => {
    expect(describeFailure(new DeadlineExceededError('The cache', 500))).toBe('no answer within 500 ms');
  });

  it.each([
    [withCode('getaddrinfo ENOTFOUND db.internal', 'ENOTFOUND'), 'not reachable (host not found)'],
    [withCode('read ECONNRESET', 'ECONNRESET'), 'connection lost'],
    [new Error('Connection terminated unexpectedly'), 'connection lost'],
    [new Error('timeout exceeded when trying to connect'), 'timed out waiting for a connection'],
    [new Error('Command timed out'), 'timed out'],
    [
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      'not connected (reconnecting)',
    ],
    [withCode('the database system is shutting down', '57P03'), 'shutting down or starting up'],
    [withCode('sorry, too many clients already', '53300'), 'too many connections'],
    [withCode('password authentication failed for user "gw"', '28P01'), 'refused the credentials'],
    [
      new PostgrestCallError('PGRST000', 'Database connection error.'),
      'not reachable (the data API cannot reach PostgreSQL)',
    ],
    [new PostgrestCallError('ABORT_ERR', 'AbortError: This operation was aborted'), 'timed out'],
  ])('describes %s as "%s"', (cause, description) => {
    expect(describeFailure(new DependencyUnavailableError('database', cause))).toBe(description);
  });

  it('falls back to the innermost message, without trailing punctuation or a doubled one', () => {
    const failure = new DependencyUnavailableError('database', new Error('Something odd happened.'));

    expect(describeFailure(failure)).toBe('failed (Something odd happened)');
  });

  it('describes something that is not an error at all', () => {
    expect(describeFailure('down')).toBe('failed (down)');
  });
});

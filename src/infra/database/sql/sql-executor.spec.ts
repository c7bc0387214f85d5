import { DependencyUnavailableError } from '../../../common/errors/common.errors';
import { DeadlineExceededError } from '../../../common/with-timeout';
import { asDependencyFailure, sqlStateOf } from './sql-executor';

/** An error as pg and PGlite raise it for a server-reported failure: a SQLSTATE `code` and a severity. */
const serverError = (code: string): Error =>
  Object.assign(new Error(`server says ${code}`), { code, severity: 'ERROR' });
/** An error as Node's net module raises it for a connection that failed: an errno `code`. */
const networkError = (code: string): Error =>
  Object.assign(new Error(`connect ${code} 10.0.0.7:5432`), { code });

describe('asDependencyFailure', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE'])(
    'makes a connection failure (%s) the database being unavailable, not a SQL error',
    (code) => {
      const cause = networkError(code);

      const mapped = asDependencyFailure(cause);

      expect(mapped).toBeInstanceOf(DependencyUnavailableError);
      expect(mapped).toMatchObject({ dependency: 'database', cause });
    },
  );

  it.each([
    ['connection exception', '08006'],
    ['too many connections', '53300'],
    ['statement timeout', '57014'],
    ['administrator shutdown', '57P01'],
    ['starting up', '57P03'],
    ['I/O error', '58030'],
  ])('makes a server-side %s (%s) the database being unavailable', (_, code) => {
    expect(asDependencyFailure(serverError(code))).toBeInstanceOf(DependencyUnavailableError);
  });

  it.each([
    ['a client-side timeout of pg', new Error('Query read timeout')],
    ['the whole-call deadline', new DeadlineExceededError('The database', 500)],
    ['a closed PGlite', new Error('PGlite is closed')],
  ])('makes an error without a SQLSTATE (%s) the database being unavailable', (_, error) => {
    expect(asDependencyFailure(error)).toBeInstanceOf(DependencyUnavailableError);
  });

  it.each(['23505', '23503', '22P02', '42P01'])(
    'leaves SQLSTATE %s to the repository, which knows what it means',
    (code) => {
      const error = serverError(code);

      expect(asDependencyFailure(error)).toBe(error);
    },
  );

  it('does not wrap a failure twice', () => {
    const failure = new DependencyUnavailableError('database', new Error('x'));

    expect(asDependencyFailure(failure)).toBe(failure);
  });
});

describe('sqlStateOf', () => {
  it('reads a SQLSTATE, and no Node errno as one', () => {
    expect(sqlStateOf(serverError('23505'))).toBe('23505');
    expect(sqlStateOf(networkError('ECONNREFUSED'))).toBeUndefined();
    expect(sqlStateOf(new Error('no code'))).toBeUndefined();
  });
});

import { CacheBackend, ConfigValidationError, DataBackend, loadConfig } from './app-config';

/** Runs loadConfig expecting it to refuse, and returns the one error it threw. */
function refusal(env: Record<string, string | undefined>): ConfigValidationError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** Problems that name this variable. Messages start with the variable, so an operator knows what to fix. */
function problemsAbout(error: ConfigValidationError, variable: string): string[] {
  return error.problems.filter((problem) => problem.startsWith(`${variable} `));
}

/** Checks a configuration is refused for nothing about these variables (others may still be missing). */
function problemsAboutAny(env: Record<string, string | undefined>, variables: string[]): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    return variables.flatMap((variable) => problemsAbout(error, variable));
  }
}

describe('loadConfig', () => {
  it('starts embedded + memory on port 3000 with nothing configured', () => {
    const config = loadConfig({});

    expect(config).toMatchObject({
      HOST: '0.0.0.0',
      PORT: 3000,
      LOG_LEVEL: 'info',
      LOG_PRETTY: false,
      DATA_BACKEND: DataBackend.Embedded,
      DATA_DIR: './data',
      CACHE_BACKEND: CacheBackend.Memory,
      REDIS_KEY_PREFIX: 'gw:',
      BODY_LIMIT_BYTES: 65536,
      SHUTDOWN_DRAIN_DELAY_MS: 0,
      SHUTDOWN_GRACE_MS: 25000,
    });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.SUPABASE_URL).toBeUndefined();
  });

  it('turns numeric and boolean variables into numbers and booleans', () => {
    const config = loadConfig({ PORT: ' 8080 ', LOG_PRETTY: 'yes', HEALTH_CHECK_TIMEOUT_MS: '250' });

    expect(config.PORT).toBe(8080);
    expect(config.LOG_PRETTY).toBe(true);
    expect(config.HEALTH_CHECK_TIMEOUT_MS).toBe(250);
  });

  it('ignores environment variables that are not configuration', () => {
    const config = loadConfig({ PATH: '/usr/bin', HOME: '/root', SOMETHING_ELSE: 'x' });

    expect(config).not.toHaveProperty('PATH');
    expect(config).not.toHaveProperty('SOMETHING_ELSE');
  });

  it('never echoes the value of a secret it refuses', () => {
    const secrets = {
      DEVICE_SECRET_PEPPER: 'too-short-pepper',
      SUPABASE_JWT_SECRET: 'short-jwt-secret',
      SERVICE_KEYS: 'Planner:tiny-key',
      DATABASE_URL: 'mysql://user:hunter2@db/x',
    };
    const error = refusal({ DATA_BACKEND: 'postgres', SUPABASE_URL: 'http://127.0.0.1:9', ...secrets });
    for (const [variable, value] of Object.entries(secrets)) {
      expect(problemsAbout(error, variable)).not.toEqual([]);
      expect(error.message).not.toContain(value);
    }
    expect(error.message).toContain('not shown');
  });

  it('names every malformed variable in one error', () => {
    const error = refusal({
      PORT: 'abc',
      LOG_LEVEL: 'loud',
      DATA_BACKEND: 'mysql',
      CACHE_BACKEND: 'memcached',
    });

    expect(problemsAbout(error, 'PORT')).toEqual(['PORT must be an integer between 0 and 65535 (got "abc")']);
    expect(problemsAbout(error, 'LOG_LEVEL')).toEqual([
      expect.stringMatching(/must be one of .*\(got "loud"\)$/),
    ]);
    expect(problemsAbout(error, 'DATA_BACKEND')).toEqual([
      'DATA_BACKEND must be one of embedded, postgres, supabase (got "mysql")',
    ]);
    expect(problemsAbout(error, 'CACHE_BACKEND')).toEqual([
      'CACHE_BACKEND must be one of memory, redis (got "memcached")',
    ]);
  });

  it.each(['70000', '-1', '1.5', '12abc', '0x50'])('refuses PORT=%s instead of half-parsing it', (port) => {
    const error = refusal({ PORT: port });

    expect(error.problems).toEqual([`PORT must be an integer between 0 and 65535 (got "${port}")`]);
  });

  it('refuses a headers timeout longer than the whole request timeout, naming both', () => {
    const error = refusal({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' });

    expect(problemsAbout(error, 'HTTP_HEADERS_TIMEOUT_MS')).toEqual([
      'HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS (got 5000 > 1000)',
    ]);
  });

  it('refuses a boolean that is neither true nor false', () => {
    expect(refusal({ LOG_PRETTY: 'maybe' }).problems).toEqual([
      'LOG_PRETTY must be true or false (got "maybe")',
    ]);
  });

  it('requires DATABASE_URL when DATA_BACKEND=postgres', () => {
    const error = refusal({ DATA_BACKEND: 'postgres' });

    expect(problemsAbout(error, 'DATABASE_URL')).toEqual([
      'DATABASE_URL must be a postgres:// URL when DATA_BACKEND=postgres (not set)',
    ]);
  });

  it('refuses a DATABASE_URL that is not a postgres URL', () => {
    const error = refusal({ DATA_BACKEND: 'postgres', DATABASE_URL: 'mysql://db/app' });

    expect(problemsAbout(error, 'DATABASE_URL')).toEqual([
      'DATABASE_URL must be a postgres:// URL when DATA_BACKEND=postgres (got 14 characters, not shown)',
    ]);
  });

  it('has nothing to say about DATABASE_URL once a postgres URL is given', () => {
    const env = { DATA_BACKEND: 'postgres', DATABASE_URL: 'postgresql://127.0.0.1:5432/test' };

    expect(problemsAboutAny(env, ['DATABASE_URL', 'DATA_BACKEND'])).toEqual([]);
  });

  it('requires SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY when DATA_BACKEND=supabase, naming both', () => {
    const error = refusal({ DATA_BACKEND: 'supabase' });

    expect(problemsAbout(error, 'SUPABASE_URL')).toEqual([expect.stringMatching(/\(not set\)$/)]);
    expect(problemsAbout(error, 'SUPABASE_SERVICE_ROLE_KEY')).toEqual([
      'SUPABASE_SERVICE_ROLE_KEY is required when DATA_BACKEND=supabase (not set)',
    ]);
  });

  it('does not ask for a service role key outside DATA_BACKEND=supabase', () => {
    expect(problemsAboutAny({}, ['SUPABASE_SERVICE_ROLE_KEY', 'DATABASE_URL'])).toEqual([]);
    expect(problemsAboutAny({ DATA_BACKEND: 'postgres' }, ['SUPABASE_SERVICE_ROLE_KEY'])).toEqual([]);
  });

  it('does not check REDIS_URL when the cache is in memory', () => {
    const config = loadConfig({ CACHE_BACKEND: 'memory', REDIS_URL: 'not a url' });

    expect(config.CACHE_BACKEND).toBe(CacheBackend.Memory);
  });

  it('refuses a REDIS_URL that is not a redis URL when CACHE_BACKEND=redis', () => {
    const error = refusal({ CACHE_BACKEND: 'redis', REDIS_URL: 'http://127.0.0.1:6379' });

    expect(error.problems).toEqual([
      'REDIS_URL must be a redis:// or rediss:// URL (got 21 characters, not shown)',
    ]);
  });

  it('treats blank values as unset, so defaults apply', () => {
    const config = loadConfig({ PORT: '', LOG_LEVEL: '   ', DATA_BACKEND: '', CACHE_BACKEND: '\t' });

    expect(config.PORT).toBe(3000);
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.DATA_BACKEND).toBe(DataBackend.Embedded);
    expect(config.CACHE_BACKEND).toBe(CacheBackend.Memory);
  });

  it('treats a blank required value as missing rather than malformed', () => {
    const error = refusal({ DATA_BACKEND: 'supabase', SUPABASE_URL: ' ', SUPABASE_SERVICE_ROLE_KEY: '' });

    expect(problemsAbout(error, 'SUPABASE_URL')).toEqual([expect.stringMatching(/\(not set\)$/)]);
    expect(problemsAbout(error, 'SUPABASE_SERVICE_ROLE_KEY')).toEqual([
      expect.stringMatching(/\(not set\)$/),
    ]);
  });

  it('bounds the device verification cache by default, and refuses a bound of zero', () => {
    expect(loadConfig({})).toMatchObject({
      DEVICE_AUTH_CACHE_TTL_MS: 60000,
      DEVICE_AUTH_CACHE_MAX_ENTRIES: 200000,
    });
    expect(
      problemsAbout(refusal({ DEVICE_AUTH_CACHE_MAX_ENTRIES: '0' }), 'DEVICE_AUTH_CACHE_MAX_ENTRIES'),
    ).toEqual(['DEVICE_AUTH_CACHE_MAX_ENTRIES must be an integer between 1 and 10000000 (got "0")']);
  });

  it('flushes presence writes once a second or every 500 rows by default, and refuses bounds out of range', () => {
    expect(loadConfig({})).toMatchObject({ PRESENCE_FLUSH_INTERVAL_MS: 1000, PRESENCE_FLUSH_MAX_ROWS: 500 });
    const error = refusal({ PRESENCE_FLUSH_INTERVAL_MS: '0', PRESENCE_FLUSH_MAX_ROWS: '10001' });
    expect(problemsAbout(error, 'PRESENCE_FLUSH_INTERVAL_MS')).toEqual([
      'PRESENCE_FLUSH_INTERVAL_MS must be an integer between 10 and 60000 (got "0")',
    ]);
    expect(problemsAbout(error, 'PRESENCE_FLUSH_MAX_ROWS')).toEqual([
      'PRESENCE_FLUSH_MAX_ROWS must be an integer between 1 and 10000 (got "10001")',
    ]);
  });

  it('refuses a presence flush interval longer than the heartbeat persistence interval, naming both', () => {
    const error = refusal({ PRESENCE_FLUSH_INTERVAL_MS: '2000', HEARTBEAT_PERSIST_INTERVAL_SEC: '1' });

    expect(error.problems).toEqual([
      'PRESENCE_FLUSH_INTERVAL_MS must not exceed HEARTBEAT_PERSIST_INTERVAL_SEC × 1000 (got 2000 > 1000)',
    ]);
    expect(
      loadConfig({ PRESENCE_FLUSH_INTERVAL_MS: '1000', HEARTBEAT_PERSIST_INTERVAL_SEC: '1' }),
    ).toMatchObject({
      PRESENCE_FLUSH_INTERVAL_MS: 1000,
    });
  });

  it('lists each problem on its own line under one heading', () => {
    const error = refusal({ PORT: 'abc', LOG_LEVEL: 'loud' });

    expect(error.message.split('\n')).toEqual([
      'Invalid configuration:',
      expect.stringMatching(/^ {2}- PORT /),
      expect.stringMatching(/^ {2}- LOG_LEVEL /),
    ]);
  });
});

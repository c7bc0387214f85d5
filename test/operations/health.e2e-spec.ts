import { type InProcessApp, startInProcessApp } from '../support/in-process-app';
import { eventually } from '../support/eventually';
import { findFreePort } from '../support/free-port';
import { ThrowawayRedis } from '../support/throwaway-redis';

interface CheckResult {
  status: 'up' | 'down';
  message?: string;
  backend?: string;
}

interface Readiness {
  status: 'ok' | 'error';
  info?: Record<string, CheckResult>;
  error?: Record<string, CheckResult>;
}

async function readiness(gateway: InProcessApp): Promise<{ status: number; body: Readiness }> {
  const response = await gateway.app.inject({ method: 'GET', url: '/health/ready' });
  return { status: response.statusCode, body: response.json<Readiness>() };
}

/** Short timeouts and reconnect delays, so outages are noticed and recoveries picked up within a test. */
const FAST_DEPENDENCIES = {
  HEALTH_CHECK_TIMEOUT_MS: '500',
  REDIS_COMMAND_TIMEOUT_MS: '300',
  REDIS_RECONNECT_MAX_DELAY_MS: '100',
  DATABASE_TIMEOUT_MS: '500',
};

describe('health endpoints', () => {
  const apps: InProcessApp[] = [];
  const redisServers: ThrowawayRedis[] = [];

  async function start(env: Record<string, string>): Promise<InProcessApp> {
    const gateway = await startInProcessApp({ env: { ...FAST_DEPENDENCIES, ...env } });
    apps.push(gateway);
    return gateway;
  }

  afterAll(async () => {
    await Promise.all(apps.map((gateway) => gateway.close()));
    await Promise.all(redisServers.map((redis) => redis.stop()));
  });

  describe('with Redis unreachable from the start', () => {
    let gateway: InProcessApp;

    beforeAll(async () => {
      // Port 1 on loopback: nothing listens, so connections are refused at once.
      gateway = await start({ CACHE_BACKEND: 'redis', REDIS_URL: 'redis://127.0.0.1:1' });
    });

    it('starts anyway and logs the outage instead of throwing', () => {
      const warnings = gateway.logs.entries().filter((entry) => entry.level === 'warn');

      expect(warnings.map((entry) => entry.msg)).toContainEqual(
        expect.stringMatching(/Redis.*not reachable/i),
      );
    });

    it('is live, because liveness never touches a dependency', async () => {
      const response = await gateway.app.inject({ method: 'GET', url: '/health/live' });

      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: 'ok' });
    });

    it('is not ready, naming the cache as the check that is down', async () => {
      const { status, body } = await readiness(gateway);

      expect(status).toBe(503);
      expect(body.status).toBe('error');
      expect(body.error?.cache).toMatchObject({ status: 'down', backend: 'redis' });
      expect(body.error?.database).toBeUndefined();
      expect(body.info?.database).toMatchObject({ status: 'up' });
    });
  });

  describe('when Redis goes away and comes back', () => {
    let gateway: InProcessApp;
    let redis: ThrowawayRedis;

    beforeAll(async () => {
      redis = new ThrowawayRedis(await findFreePort());
      redisServers.push(redis);
      await redis.start();
      gateway = await start({
        CACHE_BACKEND: 'redis',
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: 'health-e2e:',
      });
    });

    it('is ready while Redis answers', async () => {
      const { status, body } = await readiness(gateway);

      expect(status).toBe(200);
      expect(body.info?.cache).toMatchObject({ status: 'up', backend: 'redis' });
    });

    it('turns not ready, naming the cache, when Redis dies', async () => {
      await redis.kill();

      const { body } = await eventually(
        'readiness reports 503',
        () => readiness(gateway),
        ({ status }) => status === 503,
      );
      expect(body.error?.cache).toMatchObject({ status: 'down' });
    });

    it('stays live during the outage', async () => {
      const response = await gateway.app.inject({ method: 'GET', url: '/health/live' });

      expect(response.statusCode).toBe(200);
    });

    it('turns ready again by itself when Redis comes back on the same address', async () => {
      await redis.start();

      const { body } = await eventually(
        'readiness reports 200 again',
        () => readiness(gateway),
        ({ status }) => status === 200,
      );
      expect(body.info?.cache).toMatchObject({ status: 'up' });
    });
  });

  describe('with the postgres data backend unreachable', () => {
    let gateway: InProcessApp;

    beforeAll(async () => {
      const nothingListens = await findFreePort();
      gateway = await start({
        DATA_BACKEND: 'postgres',
        DATABASE_URL: `postgresql://gateway@127.0.0.1:${nothingListens}/gateway`,
        // Asked for by later configuration (auth) whenever the data backend is not embedded; unused here.
        SUPABASE_URL: 'http://127.0.0.1:1',
        DEVICE_SECRET_PEPPER: 'health-e2e-pepper-of-at-least-32-characters',
      });
    });

    it('is live', async () => {
      const response = await gateway.app.inject({ method: 'GET', url: '/health/live' });

      expect(response.statusCode).toBe(200);
    });

    it('is not ready, naming the database as the check that is down', async () => {
      const { status, body } = await readiness(gateway);

      expect(status).toBe(503);
      expect(body.error?.database).toMatchObject({ status: 'down', backend: 'postgres' });
      expect(body.info?.cache).toMatchObject({ status: 'up', backend: 'memory' });
    });
  });
});

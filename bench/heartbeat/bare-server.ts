/**
 * The baseline for bench/heartbeat: a bare Fastify server doing the gateway's heartbeat work and nothing
 * else. Basic credentials, the same keyed hash as DeviceCredentialsService, JSON body parsing, the very
 * Redis step of RedisPresenceStore and the same response. No Nest, no guard, no validation, no logging:
 * what the gateway spends beyond this is what its framework, guard, validation and logging cost.
 *
 * `node -r ts-node/register/transpile-only bench/heartbeat/bare-server.ts --devices <file.json>`, with
 * the gateway's configuration variables (PORT, HOST, REDIS_URL, REDIS_KEY_PREFIX, ...) in the environment.
 * Started by run.ts; prints "listening on <url>" once it serves.
 */
import 'reflect-metadata';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import Redis from 'ioredis';
import { loadConfigFromEnvironment } from '../../src/config/environment';
import { redisOptions } from '../../src/infra/redis/redis-client.provider';
import { RedisPresenceStore } from '../../src/infra/redis/redis-presence.store';
import { timingFor } from '../../src/presence/presence';
import { type BenchDevice } from './bench-device';

interface StoredDevice {
  secretHash: Buffer;
  customerId: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { devices: { type: 'string' } } });
  if (!values.devices) throw new Error('--devices <file.json> is required');
  const config = loadConfigFromEnvironment();

  // The gateway keeps its pepper in DATA_DIR; this server needs only one, not the same one.
  const pepper = randomBytes(32).toString('base64url');
  const digest = (secret: string): Buffer => createHmac('sha256', pepper).update(secret, 'utf8').digest();
  // What the gateway's verification cache holds once a device has authenticated.
  const stored = new Map<string, StoredDevice>();
  for (const device of JSON.parse(readFileSync(values.devices, 'utf8')) as BenchDevice[]) {
    stored.set(device.deviceId, { secretHash: digest(device.secret), customerId: device.customerId });
  }

  const redis = new Redis(config.REDIS_URL, redisOptions(config));
  await redis.connect();
  const presence = new RedisPresenceStore(redis);
  const { staleAfterMs } = timingFor(config.HEARTBEAT_INTERVAL_SEC);
  const persistIntervalMs = config.HEARTBEAT_PERSIST_INTERVAL_SEC * 1000;

  const app = Fastify({ logger: false, bodyLimit: config.BODY_LIMIT_BYTES });
  app.post('/v1/agent/heartbeat', async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    const device = stored.get(decoded.slice(0, separator));
    const presented = digest(decoded.slice(separator + 1));
    if (
      separator <= 0 ||
      !device ||
      presented.length !== device.secretHash.length ||
      !timingSafeEqual(presented, device.secretHash)
    ) {
      return reply.code(401).send({ title: 'Unauthorized' });
    }
    // The gateway stores the parsed body re-serialised, as this does.
    await presence.applySign(
      {
        deviceId: decoded.slice(0, separator),
        at: Date.now(),
        heartbeat: JSON.stringify(request.body),
        persistIntervalMs,
      },
      staleAfterMs,
    );
    return reply.code(200).send({
      serverTime: new Date().toISOString(),
      nextHeartbeatSec: config.HEARTBEAT_INTERVAL_SEC,
      pendingCommands: 0,
    });
  });

  const stop = async (): Promise<void> => {
    await app.close();
    await redis.quit().catch(() => {
      redis.disconnect();
    });
    // An explicit exit, so that --cpu-prof writes its profile.
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void stop();
    });
  }

  const url = await app.listen({ port: config.PORT, host: config.HOST });
  process.stdout.write(`listening on ${url}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bare server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

/**
 * The bare servers the gateway is measured against, doing its per-heartbeat work and nothing else:
 *
 * - `--protocol http` (bench:heartbeat): a bare Fastify server. Basic credentials checked with the keyed
 *   hash of DeviceCredentialsService, JSON body parsing, the very Redis step of RedisPresenceStore, the
 *   same response. No Nest, guard, validation, request id, metrics or logging.
 * - `--protocol socket` (bench:sockets): a plain Socket.IO server on node:http with the gateway's transport
 *   options, namespace /agent. The same keyed hash in the handshake; per heartbeat event, the gateway's
 *   validation (SchemaValidator with HeartbeatDto), the same Redis step, the same ack. No Nest, cluster
 *   adapter, rooms, presence connect/disconnect, takeover, logging or metrics.
 *
 * `node -r ts-node/register/transpile-only bench/bare/bare-server.ts --protocol <http|socket> --devices
 * <file.json>`, with the gateway's configuration variables (PORT, HOST, REDIS_URL, REDIS_KEY_PREFIX, ...)
 * in the environment; prints "listening on <url>" once it serves.
 */
import 'reflect-metadata';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import Redis from 'ioredis';
import { Server } from 'socket.io';
import { HeartbeatDto } from '../../src/devices/agent/dto/heartbeat.dto';
import { SchemaValidator } from '../../src/common/validation/schema-validator';
import { loadConfigFromEnvironment } from '../../src/config/environment';
import { redisOptions } from '../../src/infra/redis/redis-client.provider';
import { RedisPresenceStore } from '../../src/devices/presence/redis-presence.store';
import { timingFor } from '../../src/devices/presence/presence';
import { socketTransportOptions } from '../../src/realtime/realtime-io.adapter';
import { type BenchDevice } from '../runner/local';

const { values } = parseArgs({ options: { protocol: { type: 'string' }, devices: { type: 'string' } } });
const config = loadConfigFromEnvironment();
const redis = new Redis(config.REDIS_URL, redisOptions(config));
const presence = new RedisPresenceStore(redis);
const { staleAfterMs } = timingFor(config.HEARTBEAT_INTERVAL_SEC);
const persistIntervalMs = config.HEARTBEAT_PERSIST_INTERVAL_SEC * 1000;

// What the gateway's verification cache holds once each device has authenticated: its secret's keyed
// hash. The gateway keeps its pepper in DATA_DIR; a bare server needs one, not the same one.
const pepper = randomBytes(32).toString('base64url');
const digest = (secret: string): Buffer => createHmac('sha256', pepper).update(secret, 'utf8').digest();
const hashes = new Map(
  (JSON.parse(readFileSync(values.devices ?? '', 'utf8')) as BenchDevice[]).map((device) => [
    device.deviceId,
    digest(device.secret),
  ]),
);

/** The presented secret is hashed whether or not the device is known: every attempt costs one HMAC. */
function verify(deviceId: string, secret: string): boolean {
  const stored = hashes.get(deviceId);
  const presented = digest(secret);
  return stored !== undefined && presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** The gateway stores the heartbeat re-serialised, with the connection's epoch on sockets. */
const recordSign = (deviceId: string, heartbeat: unknown, epoch?: number) =>
  presence.applySign(
    { deviceId, at: Date.now(), heartbeat: JSON.stringify(heartbeat), epoch, persistIntervalMs },
    staleAfterMs,
  );

async function serveHttp(): Promise<{ url: string; close: () => Promise<void> }> {
  const app = Fastify({ logger: false, bodyLimit: config.BODY_LIMIT_BYTES });
  app.post('/v1/agent/heartbeat', async (request, reply) => {
    const decoded = Buffer.from(
      (request.headers.authorization ?? '').slice('Basic '.length),
      'base64',
    ).toString();
    const separator = decoded.indexOf(':');
    const deviceId = decoded.slice(0, separator);
    if (!verify(deviceId, decoded.slice(separator + 1)) || separator <= 0)
      return reply.code(401).send({ title: 'Unauthorized' });
    await recordSign(deviceId, request.body);
    return reply.code(200).send({
      serverTime: new Date().toISOString(),
      nextHeartbeatSec: config.HEARTBEAT_INTERVAL_SEC,
      pendingCommands: 0,
    });
  });
  return { url: await app.listen({ port: config.PORT, host: config.HOST }), close: () => app.close() };
}

async function serveSockets(): Promise<{ url: string; close: () => Promise<void> }> {
  const heartbeat = new SchemaValidator(HeartbeatDto);
  const http = createServer();
  // The gateway's transport options, without its cluster adapter and connection state recovery.
  const io = new Server(http, socketTransportOptions(config));
  const agents = io.of('/agent');
  agents.use((socket, next) => {
    const auth = socket.handshake.auth as { deviceId?: unknown; secret?: unknown };
    // No device has the empty id: a missing one fails verification like an unknown one.
    const deviceId = typeof auth.deviceId === 'string' ? auth.deviceId : '';
    if (!verify(deviceId, typeof auth.secret === 'string' ? auth.secret : '')) {
      next(new Error('unauthorized'));
      return;
    }
    (socket.data as { deviceId: string }).deviceId = deviceId;
    next();
  });
  agents.on('connection', (socket) => {
    const { deviceId } = socket.data as { deviceId: string };
    socket.on('heartbeat', (payload: unknown, ack?: unknown) => {
      if (typeof ack !== 'function') return;
      const reply = ack as (response: unknown) => void;
      const checked = heartbeat.check(payload);
      if ('errors' in checked) {
        reply({ error: { status: 400, errors: checked.errors } });
        return;
      }
      recordSign(deviceId, checked.value, 1).then(
        () => {
          reply({ serverTime: new Date().toISOString(), nextHeartbeatSec: config.HEARTBEAT_INTERVAL_SEC });
        },
        () => {
          reply({ error: { status: 503 } });
        },
      );
    });
  });
  await new Promise<void>((resolve) => http.listen(config.PORT, config.HOST, resolve));
  return { url: `http://${config.HOST}:${config.PORT}`, close: () => io.close() };
}

async function main(): Promise<void> {
  await redis.connect();
  const server = values.protocol === 'socket' ? await serveSockets() : await serveHttp();
  // The runner stops servers with SIGTERM; an explicit exit, so that --cpu-prof writes its profile.
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => {
      void server
        .close()
        .then(() => redis.quit())
        .catch(() => {
          redis.disconnect();
        })
        .finally(() => process.exit(0));
    });
  process.stdout.write(`listening on ${server.url}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bare server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

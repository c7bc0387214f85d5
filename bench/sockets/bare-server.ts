/**
 * The baseline for bench/sockets: a plain Socket.IO server on node:http with the gateway's options
 * (path /socket.io, websocket only, permessage-deflate off, the same message size limit), namespace /agent,
 * doing the gateway's per-socket work and nothing else: in the handshake, the keyed hash of
 * DeviceCredentialsService and timingSafeEqual against the stored hash; per heartbeat event, the gateway's
 * validation (SchemaValidator with HeartbeatDto), the very Redis step of RedisPresenceStore and the same
 * ack. No Nest, no cluster adapter, no rooms, no presence connect/disconnect, no logging or metrics: what
 * the gateway spends beyond this is what its structure costs.
 *
 * `node -r ts-node/register/transpile-only bench/sockets/bare-server.ts --devices <file.json>`, with the
 * gateway's configuration variables (PORT, HOST, REDIS_URL, REDIS_KEY_PREFIX, ...) in the environment.
 * Started by run.ts; prints "listening on <url>" once it serves.
 */
import 'reflect-metadata';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { Server } from 'socket.io';
import { HeartbeatDto } from '../../src/agent/dto/heartbeat.dto';
import { SchemaValidator } from '../../src/common/validation/schema-validator';
import { loadConfigFromEnvironment } from '../../src/config/environment';
import { redisOptions } from '../../src/infra/redis/redis-client.provider';
import { RedisPresenceStore } from '../../src/infra/redis/redis-presence.store';
import { timingFor } from '../../src/presence/presence';
import { type BenchDevice } from '../heartbeat/bench-device';

interface StoredDevice {
  secretHash: Buffer;
  customerId: string;
}

interface BareSocketData {
  deviceId: string;
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
  const heartbeat = new SchemaValidator(HeartbeatDto);

  const http = createServer();
  const io = new Server<Record<string, never>, Record<string, never>, Record<string, never>, BareSocketData>(
    http,
    {
      path: '/socket.io',
      transports: ['websocket'],
      perMessageDeflate: false,
      httpCompression: false,
      maxHttpBufferSize: config.SOCKET_MAX_MESSAGE_BYTES,
      serveClient: false,
    },
  );
  const agents = io.of('/agent');
  agents.use((socket, next) => {
    const auth = socket.handshake.auth as { deviceId?: unknown; secret?: unknown };
    const device = typeof auth.deviceId === 'string' ? stored.get(auth.deviceId) : undefined;
    const presented = digest(typeof auth.secret === 'string' ? auth.secret : '');
    if (
      !device ||
      presented.length !== device.secretHash.length ||
      !timingSafeEqual(presented, device.secretHash)
    ) {
      next(new Error('unauthorized'));
      return;
    }
    socket.data.deviceId = auth.deviceId as string;
    next();
  });
  agents.on('connection', (socket) => {
    socket.on('heartbeat', (payload: unknown, ack?: unknown) => {
      if (typeof ack !== 'function') return;
      const reply = ack as (response: unknown) => void;
      const checked = heartbeat.check(payload);
      if ('errors' in checked) {
        reply({ error: { status: 400, errors: checked.errors } });
        return;
      }
      presence
        .applySign(
          {
            deviceId: socket.data.deviceId,
            at: Date.now(),
            // The gateway stores the validated payload re-serialised, with its connection's epoch.
            heartbeat: JSON.stringify(checked.value),
            epoch: 1,
            persistIntervalMs,
          },
          staleAfterMs,
        )
        .then(
          () => {
            reply({ serverTime: new Date().toISOString(), nextHeartbeatSec: config.HEARTBEAT_INTERVAL_SEC });
          },
          () => {
            reply({ error: { status: 503 } });
          },
        );
    });
  });

  const stop = async (): Promise<void> => {
    await io.close();
    await redis.quit().catch(() => {
      redis.disconnect();
    });
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void stop();
    });
  }

  await new Promise<void>((resolve) => {
    http.listen(config.PORT, config.HOST, resolve);
  });
  process.stdout.write(`listening on http://${config.HOST}:${config.PORT}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bare server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

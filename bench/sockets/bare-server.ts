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
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { HeartbeatDto } from '../../src/devices/agent/dto/heartbeat.dto';
import { SchemaValidator } from '../../src/common/validation/schema-validator';
import { runBareServer, setUpBareServer, stopOnSignals } from '../shared/bare-server';
import { socketTransportOptions } from '../../src/realtime/realtime-io.adapter';

interface BareSocketData {
  deviceId: string;
}

async function main(): Promise<void> {
  const { config, secrets, redis, presence, staleAfterMs, persistIntervalMs } = await setUpBareServer();
  const heartbeat = new SchemaValidator(HeartbeatDto);

  const http = createServer();
  const io = new Server<Record<string, never>, Record<string, never>, Record<string, never>, BareSocketData>(
    http,
    // The gateway's transport options, without its cluster adapter and connection state recovery.
    socketTransportOptions(config),
  );
  const agents = io.of('/agent');
  agents.use((socket, next) => {
    const auth = socket.handshake.auth as { deviceId?: unknown; secret?: unknown };
    // No device has the empty id: a missing one fails verification like an unknown one.
    const deviceId = typeof auth.deviceId === 'string' ? auth.deviceId : '';
    if (!secrets.verify(deviceId, typeof auth.secret === 'string' ? auth.secret : '')) {
      next(new Error('unauthorized'));
      return;
    }
    socket.data.deviceId = deviceId;
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

  stopOnSignals(() => io.close(), redis);

  await new Promise<void>((resolve) => {
    http.listen(config.PORT, config.HOST, resolve);
  });
  process.stdout.write(`listening on http://${config.HOST}:${config.PORT}\n`);
}

runBareServer(main);

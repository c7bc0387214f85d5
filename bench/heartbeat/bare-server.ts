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
import Fastify from 'fastify';
import { runBareServer, setUpBareServer, stopOnSignals } from '../shared/bare-server';

async function main(): Promise<void> {
  const { config, secrets, redis, presence, staleAfterMs, persistIntervalMs } = await setUpBareServer();

  const app = Fastify({ logger: false, bodyLimit: config.BODY_LIMIT_BYTES });
  app.post('/v1/agent/heartbeat', async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    const separator = decoded.indexOf(':');
    const deviceId = decoded.slice(0, separator);
    const valid = secrets.verify(deviceId, decoded.slice(separator + 1));
    if (separator <= 0 || !valid) {
      return reply.code(401).send({ title: 'Unauthorized' });
    }
    // The gateway stores the parsed body re-serialised, as this does.
    await presence.applySign(
      {
        deviceId,
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

  stopOnSignals(() => app.close(), redis);

  const url = await app.listen({ port: config.PORT, host: config.HOST });
  process.stdout.write(`listening on ${url}\n`);
}

runBareServer(main);

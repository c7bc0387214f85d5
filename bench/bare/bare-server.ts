/**
 * The references the gateway is measured against: servers that do the heartbeat contract's minimum
 * (docs/guide.md#devices-and-presence, #socketio) on the same Fastify, Socket.IO, ajv and ioredis as the gateway, and nothing else. No
 * gateway code runs here: the schema, the credential check and the Redis write are written out below.
 *
 * - `--protocol http` (bench:heartbeat): Fastify, `POST /v1/agent/heartbeat`. In onRequest (before the
 *   body is read) Basic credentials: HMAC-SHA-256 of the secret under a pepper, compared with the stored
 *   hash in constant time, 401 otherwise. The body validated (Fastify's validator compiler) against the
 *   heartbeat's JSON Schema by ajv with the gateway's options (allErrors, strict false, strictNumbers,
 *   nothing coerced, removed or defaulted, unknown fields refused), 400 otherwise. One HSET of the
 *   device's presence hash. The answer through a response schema.
 * - `--protocol socket` (bench:sockets): Socket.IO on node:http with the gateway's transport options,
 *   namespace /agent. The same credential check on the handshake's `auth { deviceId, secret }`; per
 *   `heartbeat` event the same schema (compiled by ajv with the same options), one HSET, the ack.
 *
 * Neither has Nest, a guard, request ids, metrics, logging, a cluster adapter, rooms, presence states or
 * transitions, a takeover of older sockets, nor any database write.
 *
 * `node -r ts-node/register/transpile-only bench/bare/bare-server.ts --protocol <http|socket> --devices
 * <file.json>`, with PORT, HOST, REDIS_URL, REDIS_KEY_PREFIX and HEARTBEAT_INTERVAL_SEC in the environment;
 * prints "listening on <url>" once it serves.
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import Fastify from 'fastify';
import Redis from 'ioredis';
import { AJV_OPTIONS, bareAgentNamespace, deviceVerifier } from './bare-shared';

const { values } = parseArgs({ options: { protocol: { type: 'string' }, devices: { type: 'string' } } });
const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
const PORT = Number(env('PORT', '3000'));
const HOST = env('HOST', '127.0.0.1');
const INTERVAL_SEC = Number(env('HEARTBEAT_INTERVAL_SEC', '30'));
/** The gateway's defaults of BODY_LIMIT_BYTES and SOCKET_MAX_MESSAGE_BYTES. */
const MAX_MESSAGE_BYTES = 65_536;

const redis = new Redis(env('REDIS_URL', 'redis://127.0.0.1:6379'), {
  keyPrefix: env('REDIS_KEY_PREFIX', ''),
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
});

const ajv = addFormats(new Ajv(AJV_OPTIONS));

const number = (minimum: number, maximum: number) => ({ type: 'number', minimum, maximum });
const closed = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});
/** The heartbeat body of the contract (docs/guide.md#devices-and-presence), with the gateway's bounds. */
const HEARTBEAT_SCHEMA = closed(
  {
    uptimeSec: { type: 'integer', minimum: 0 },
    agentVersion: { type: 'string', minLength: 1, maxLength: 64 },
    metrics: closed({
      cpuPct: number(0, 100),
      memPct: number(0, 100),
      diskPct: number(0, 100),
      tempC: number(-60, 150),
      load1: number(0, 10_000),
    }),
    network: closed({
      interfaces: {
        type: 'array',
        maxItems: 32,
        items: closed(
          {
            name: { type: 'string', minLength: 1, maxLength: 64 },
            up: { type: 'boolean' },
            ipv4: { type: 'string', maxLength: 64 },
            ipv6: { type: 'string', maxLength: 64 },
            mac: { type: 'string', maxLength: 32 },
          },
          ['name'],
        ),
      },
      publicIp: { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] },
      gatewayReachable: { type: 'boolean' },
      dnsOk: { type: 'boolean' },
      latencyMs: number(0, 600_000),
    }),
  },
  ['uptimeSec'],
);

const ACK_SCHEMA = {
  type: 'object',
  properties: {
    serverTime: { type: 'string' },
    nextHeartbeatSec: { type: 'integer' },
    pendingCommands: { type: 'integer' },
  },
};

const verify = deviceVerifier(values.devices ?? '');

/** The one Redis write of a heartbeat: the device is online, seen now, with this payload. */
const recordHeartbeat = (deviceId: string, heartbeat: unknown): Promise<number> =>
  redis.hset(
    `presence:${deviceId}`,
    'state',
    'online',
    'lastSeenAt',
    Date.now(),
    'heartbeat',
    JSON.stringify(heartbeat),
  );

const ack = () => ({ serverTime: new Date().toISOString(), nextHeartbeatSec: INTERVAL_SEC });

function basicDevice(header: string | undefined): string | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  const deviceId = decoded.slice(0, Math.max(separator, 0));
  return separator > 0 && verify(deviceId, decoded.slice(separator + 1)) ? deviceId : undefined;
}

async function serveHttp(): Promise<{ url: string; close: () => Promise<void> }> {
  const app = Fastify({
    logger: false,
    bodyLimit: MAX_MESSAGE_BYTES,
  });
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
  app.decorateRequest('deviceId', '');
  app.route<{ Body: unknown }>({
    method: 'POST',
    url: '/v1/agent/heartbeat',
    schema: { body: HEARTBEAT_SCHEMA, response: { 200: ACK_SCHEMA } },
    onRequest: (request, reply, done) => {
      const deviceId = basicDevice(request.headers.authorization);
      if (deviceId === undefined) {
        void reply.code(401).type('application/problem+json').send({ status: 401, title: 'Unauthorized' });
        return;
      }
      (request as unknown as { deviceId: string }).deviceId = deviceId;
      done();
    },
    handler: async (request, reply) => {
      await recordHeartbeat((request as unknown as { deviceId: string }).deviceId, request.body);
      return reply.code(200).send({ ...ack(), pendingCommands: 0 });
    },
  });
  return { url: await app.listen({ port: PORT, host: HOST }), close: () => app.close() };
}

async function serveSockets(): Promise<{ url: string; close: () => Promise<void> }> {
  const validate = ajv.compile(HEARTBEAT_SCHEMA);
  const http = createServer();
  const { io, agents } = bareAgentNamespace(http, verify, MAX_MESSAGE_BYTES);
  agents.on('connection', (socket) => {
    const { deviceId } = socket.data as { deviceId: string };
    socket.on('heartbeat', (payload: unknown, reply?: unknown) => {
      if (typeof reply !== 'function') return;
      const answer = reply as (response: unknown) => void;
      if (!validate(payload)) {
        answer({ error: { status: 400, errors: validate.errors } });
        return;
      }
      recordHeartbeat(deviceId, payload).then(
        () => {
          answer(ack());
        },
        () => {
          answer({ error: { status: 503 } });
        },
      );
    });
  });
  await new Promise<void>((resolve) => http.listen(PORT, HOST, resolve));
  return { url: `http://${HOST}:${PORT}`, close: () => io.close() };
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

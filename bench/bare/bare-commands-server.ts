/**
 * The reference bench:commands measures the gateway against: the command round trip's unavoidable work
 * (docs/guide.md#commands, #command-delivery), written as anyone would write it on the same Fastify,
 * Socket.IO, ajv, jose and pg as the gateway, and running no gateway code. One process serves both:
 *
 * - `POST /v1/sessions/:id/commands?waitSec=N`: the customer's bearer token verified (HS256 with the
 *   project's JWT secret, issuer and audience, as the gateway checks a legacy-secret token), the body
 *   validated by ajv with the gateway's options; one INSERT of the command row (into the gateway's own
 *   `commands` table, in a copy of its database) that also checks that the session is the customer's and
 *   open; if the device's socket is connected here, `queued → sent` (one conditional UPDATE), the
 *   `command` event with an ack; `sent → delivered` on the ack (one UPDATE); on the device's
 *   `command:result`, validated, `→ succeeded|failed` with the output (one UPDATE) and its ack; the HTTP
 *   answer, 200 with the final command, once the result is written, or 202 with the command as it is when
 *   `waitSec` runs out.
 * - `GET /v1/commands/:id`: the customer's command, as it is (one SELECT).
 * - `/agent` sockets authenticated at the handshake (`auth { deviceId, secret }`) as bare-server.ts does.
 *
 * It has no Nest, guard, request ids, metrics, logging, audit rows, idempotency keys, capability check,
 * presence, cluster adapter or cross-instance routing, clocks (ack, execution, expiry) in Redis, queue
 * counts, `command:updated` events, nor any delivery of a command whose device is not connected here.
 *
 * `node -r ts-node/register/transpile-only bench/bare/bare-commands-server.ts --devices <file.json>`, with
 * PORT, HOST, DATABASE_URL, SUPABASE_URL and SUPABASE_JWT_SECRET in the environment; prints
 * "listening on <url>" once it serves.
 */
import { createSecretKey } from 'node:crypto';
import { parseArgs } from 'node:util';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { jwtVerify } from 'jose';
import { Pool } from 'pg';
import { type Socket } from 'socket.io';
import { AJV_OPTIONS, bareAgentNamespace, deviceVerifier } from './bare-shared';

const { values } = parseArgs({ options: { devices: { type: 'string' } } });
const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const PORT = Number(process.env.PORT ?? '3000');
const HOST = process.env.HOST ?? '127.0.0.1';
const ISSUER = `${env('SUPABASE_URL').replace(/\/+$/, '')}/auth/v1`;
// A KeyObject, as the gateway keeps it: jose imports a secret's bytes again on every verification.
const JWT_KEY = createSecretKey(Buffer.from(env('SUPABASE_JWT_SECRET'), 'utf8'));
/** The gateway's defaults: BODY_LIMIT_BYTES, SOCKET_MAX_MESSAGE_BYTES, DATABASE_POOL_MAX, COMMAND_ACK_TIMEOUT_SEC, COMMAND_EXPIRY_SEC. */
const BODY_LIMIT_BYTES = 65_536;
const SOCKET_MAX_MESSAGE_BYTES = 327_680;
const POOL_MAX = 10;
const ACK_TIMEOUT_MS = 30_000;
const EXPIRY_SEC = 3_600;
/** The ping's default timeout (the command catalogue's). */
const PING_TIMEOUT_SEC = 30;

const pool = new Pool({ connectionString: env('DATABASE_URL'), max: POOL_MAX });
const verifyDevice = deviceVerifier(values.devices ?? '');

/** As the gateway validates: every violation reported, nothing coerced, removed or defaulted. */
const ajv = addFormats(new Ajv(AJV_OPTIONS));

const closed = (properties: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});
/** The body of a ping (the one type this reference issues), with the gateway's bounds. */
const ISSUE_SCHEMA = closed(
  {
    type: { const: 'ping' },
    params: closed(
      {
        host: { type: 'string', minLength: 1, maxLength: 253 },
        count: { type: 'integer', minimum: 1, maximum: 20 },
      },
      ['host', 'count'],
    ),
    timeoutSec: { type: 'integer', minimum: 1, maximum: 120 },
  },
  ['type', 'params'],
);
const WAIT_SCHEMA = closed({ waitSec: { type: 'integer', minimum: 0, maximum: 30 } }, []);
const RESULT_SCHEMA = closed(
  {
    commandId: { type: 'string', format: 'uuid' },
    status: { enum: ['succeeded', 'failed'] },
    output: { type: 'object' },
    error: closed(
      { code: { type: 'string', minLength: 1, maxLength: 64 }, message: { type: 'string', maxLength: 1000 } },
      ['code', 'message'],
    ),
  },
  ['commandId', 'status'],
);
const validResult = ajv.compile<{
  commandId: string;
  status: 'succeeded' | 'failed';
  output?: unknown;
  error?: unknown;
}>(RESULT_SCHEMA);

interface CommandRow {
  id: string;
  session_id: string;
  device_id: string;
  type: string;
  params: unknown;
  status: string;
  attempt: number;
  timeout_sec: number;
  expires_at: Date;
  progress: unknown;
  output: unknown;
  error: unknown;
  issued_by: string;
  created_at: Date;
  sent_at: Date | null;
  delivered_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  revision: number;
}

const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'expired', 'cancelled']);
const iso = (value: Date | null): string | null => value?.toISOString() ?? null;

/** The Command object of the contract. */
const toCommand = (row: CommandRow) => ({
  id: row.id,
  sessionId: row.session_id,
  deviceId: row.device_id,
  type: row.type,
  params: row.params,
  status: row.status,
  attempt: row.attempt,
  timeoutSec: row.timeout_sec,
  expiresAt: row.expires_at.toISOString(),
  progress: row.progress,
  output: row.output,
  error: row.error,
  issuedBy: row.issued_by,
  createdAt: row.created_at.toISOString(),
  sentAt: iso(row.sent_at),
  deliveredAt: iso(row.delivered_at),
  startedAt: iso(row.started_at),
  finishedAt: iso(row.finished_at),
  revision: row.revision,
});

const INSERT = `
  insert into public.commands (session_id, device_id, customer_id, type, params, timeout_sec, expires_at, issued_by)
  select s.id, s.device_id, s.customer_id, $3, $4::jsonb, $5,
         date_trunc('milliseconds', now()) + make_interval(secs => $6), $7
    from public.diagnostic_sessions s
    where s.id = $1 and s.customer_id = $2 and s.state = 'open'
  returning *`;
const TO_SENT = `
  update public.commands set status = 'sent', revision = revision + 1,
         sent_at = date_trunc('milliseconds', now()), updated_at = now()
    where id = $1 and status = 'queued' returning *`;
const TO_DELIVERED = `
  update public.commands set status = 'delivered', revision = revision + 1,
         delivered_at = date_trunc('milliseconds', now()), updated_at = now()
    where id = $1 and status = 'sent'`;
const TO_FINAL = `
  update public.commands set status = $3, revision = revision + 1, output = $4::jsonb, error = $5::jsonb,
         finished_at = date_trunc('milliseconds', now()), updated_at = now()
    where id = $1 and device_id = $2 and status in ('sent', 'delivered', 'running') returning *`;
const SELECT = 'select * from public.commands where id = $1 and customer_id = $2';

/** The newest socket of each device. */
const sockets = new Map<string, Socket>();
/** Per command waiting for its result: the HTTP request's answer, and the ack's UPDATE still in flight. */
const waiting = new Map<string, { answer: (row: CommandRow) => void }>();
const delivering = new Map<string, Promise<unknown>>();

async function customerOf(request: FastifyRequest, reply: FastifyReply): Promise<string | undefined> {
  const header = request.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  try {
    const { payload } = await jwtVerify(token, JWT_KEY, {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: 'authenticated',
      clockTolerance: 5,
    });
    if (typeof payload.sub === 'string') return payload.sub;
  } catch {
    // Refused below, as a token without a subject is.
  }
  void reply.code(401).type('application/problem+json').send({ status: 401, title: 'Unauthorized' });
  return undefined;
}

/** Hands a new command to its device's socket, if connected here: `sent`, the event, `delivered` on the ack. */
async function deliver(row: CommandRow): Promise<void> {
  const socket = sockets.get(row.device_id);
  if (!socket) return;
  const sent = (await pool.query<CommandRow>(TO_SENT, [row.id])).rows[0];
  if (!sent) return;
  socket
    .timeout(ACK_TIMEOUT_MS)
    .emitWithAck('command', toCommand(sent))
    .then((ack: unknown) => {
      if ((ack as { accepted?: unknown } | null)?.accepted !== true) return;
      const update = pool.query(TO_DELIVERED, [row.id]).finally(() => delivering.delete(row.id));
      delivering.set(row.id, update);
    })
    .catch(() => undefined);
}

async function main(): Promise<void> {
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT_BYTES });
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));

  app.post<{ Params: { id: string }; Querystring: { waitSec?: number }; Body: { params: unknown } }>(
    '/v1/sessions/:id/commands',
    {
      // Query strings are text: waitSec is the one integer in it, converted before the schema sees it.
      preValidation: (request, _reply, done) => {
        const query = request.query as Record<string, unknown>;
        if (typeof query.waitSec === 'string' && /^\d+$/.test(query.waitSec))
          query.waitSec = Number(query.waitSec);
        done();
      },
      schema: { body: ISSUE_SCHEMA, querystring: WAIT_SCHEMA },
    },
    async (request, reply) => {
      const customerId = await customerOf(request, reply);
      if (customerId === undefined) return reply;
      const { rows } = await pool.query<CommandRow>(INSERT, [
        request.params.id,
        customerId,
        'ping',
        JSON.stringify(request.body.params),
        PING_TIMEOUT_SEC,
        EXPIRY_SEC,
        `customer:${customerId}`,
      ]);
      const created = rows[0];
      if (!created) return reply.code(404).send({ status: 404, title: 'Not Found' });
      const waitMs = (request.query.waitSec ?? 0) * 1000;
      const final = new Promise<CommandRow | undefined>((resolve) => {
        if (waitMs === 0) {
          resolve(undefined);
          return;
        }
        const timer = setTimeout(() => {
          waiting.delete(created.id);
          resolve(undefined);
        }, waitMs);
        waiting.set(created.id, {
          answer: (row) => {
            clearTimeout(timer);
            waiting.delete(created.id);
            resolve(row);
          },
        });
      });
      await deliver(created);
      const ended = await final;
      if (ended) return reply.code(200).send(toCommand(ended));
      const now = (await pool.query<CommandRow>(SELECT, [created.id, customerId])).rows[0] ?? created;
      return reply.code(FINAL.has(now.status) ? 200 : 202).send(toCommand(now));
    },
  );

  app.get<{ Params: { id: string } }>('/v1/commands/:id', async (request, reply) => {
    const customerId = await customerOf(request, reply);
    if (customerId === undefined) return reply;
    if (!/^[0-9a-f-]{36}$/i.test(request.params.id)) return reply.code(404).send({ status: 404 });
    const row = (await pool.query<CommandRow>(SELECT, [request.params.id, customerId])).rows[0];
    return row ? reply.send(toCommand(row)) : reply.code(404).send({ status: 404, title: 'Not Found' });
  });

  const { io, agents } = bareAgentNamespace(app.server, verifyDevice, SOCKET_MAX_MESSAGE_BYTES);
  agents.on('connection', (socket) => {
    const { deviceId } = socket.data as { deviceId: string };
    sockets.set(deviceId, socket);
    socket.once('disconnect', () => {
      if (sockets.get(deviceId) === socket) sockets.delete(deviceId);
    });
    socket.on('command:result', (payload: unknown, ack?: unknown) => {
      const answer = typeof ack === 'function' ? (ack as (reply: unknown) => void) : () => undefined;
      if (!validResult(payload)) {
        answer({ ok: false, error: { status: 400, errors: validResult.errors } });
        return;
      }
      const { commandId, status, output, error } = payload;
      // The ack's UPDATE first, so that a result right after its ack does not overtake it.
      void (delivering.get(commandId) ?? Promise.resolve())
        .then(() =>
          pool.query<CommandRow>(TO_FINAL, [
            commandId,
            deviceId,
            status,
            output === undefined ? null : JSON.stringify(output),
            error === undefined ? null : JSON.stringify(error),
          ]),
        )
        .then(
          ({ rows: [row] }) => {
            if (!row) {
              answer({ ok: false, error: { status: 409 } });
              return;
            }
            answer({ ok: true });
            waiting.get(commandId)?.answer(row);
          },
          () => {
            answer({ ok: false, error: { status: 503 } });
          },
        );
    });
  });

  const url = await app.listen({ port: PORT, host: HOST });
  // The runner stops servers with SIGTERM; an explicit exit, so that --cpu-prof writes its profile.
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => {
      void io
        .close()
        .then(() => app.close())
        .then(() => pool.end())
        .catch(() => undefined)
        .finally(() => process.exit(0));
    });
  process.stdout.write(`listening on ${url}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bare commands server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

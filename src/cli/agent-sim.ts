/**
 * The reference device agent: `npm run agent:sim -- --devices N [--url <gateway>] [--token <customer token>]
 * [--credentials <file>]`. For each simulated device it creates (or reuses) credentials, registers over
 * HTTP, connects to /agent, heartbeats on the interval the gateway returns, and reconnects with
 * exponential backoff when the connection drops. Sessions the gateway ends on purpose (`replaced`,
 * `revoked`) are not retried. Against an embedded gateway with no --token, a development token is minted
 * from the same DATA_DIR. SIGTERM or SIGINT closes every socket, and the process exits once they are closed.
 */
import 'reflect-metadata';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { hostname, uptime } from 'node:os';
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { createDevToken } from '../auth/dev-token';
import { DataBackend } from '../config/app-config';
import { loadConfigFromEnvironment } from '../config/environment';

interface Credentials {
  deviceId: string;
  secret: string;
}

interface RegisterResponse {
  heartbeatIntervalSec: number;
  realtime: { namespace: string; path: string };
}

const AGENT_VERSION = 'sim-1.0.0';
const CAPABILITIES = ['ping', 'traceroute', 'dns_lookup', 'http_check', 'port_check', 'interface_status'];

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

async function call<T>(
  url: string,
  init: { method?: string; authorization: string; body?: unknown },
): Promise<T> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { authorization: init.authorization, 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

const basic = ({ deviceId, secret }: Credentials): string =>
  `Basic ${Buffer.from(`${deviceId}:${secret}`).toString('base64')}`;

async function customerToken(given: string | undefined): Promise<string> {
  if (given) return given;
  const config = loadConfigFromEnvironment();
  if (config.DATA_BACKEND !== DataBackend.Embedded) {
    throw new Error('Pass --token <customer access token>: only an embedded gateway can mint one locally');
  }
  const sub = '00000000-0000-4000-8000-00000000a9e7';
  return createDevToken(config.DATA_DIR, { sub, ttlSec: 24 * 3600, email: 'agent-sim@example.test' });
}

async function ensureCredentials(url: string, count: number, file: string, token: () => Promise<string>) {
  const stored: Credentials[] = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Credentials[])
    : [];
  const credentials = stored.slice(0, count);
  if (credentials.length < count) {
    const authorization = `Bearer ${await token()}`;
    while (credentials.length < count) {
      const created = await call<{ credentials: Credentials }>(`${url}/v1/devices`, {
        method: 'POST',
        authorization,
        body: { name: `sim-${hostname()}-${credentials.length + 1}`, serial: `SIM-${randomUUID()}` },
      });
      credentials.push(created.credentials);
    }
    writeFileSync(file, JSON.stringify([...credentials, ...stored.slice(count)], null, 2), { mode: 0o600 });
    log(`created ${count - Math.min(stored.length, count)} devices; credentials kept in ${file}`);
  }
  return credentials;
}

/** One simulated agent: register, connect, heartbeat, reconnect. */
class SimulatedAgent {
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  connected = false;
  ended: string | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly credentials: Credentials,
  ) {}

  async start(): Promise<void> {
    const registration = await call<RegisterResponse>(`${this.url}/v1/agent/register`, {
      method: 'POST',
      authorization: basic(this.credentials),
      body: {
        agentVersion: AGENT_VERSION,
        capabilities: CAPABILITIES,
        hardware: { model: 'simulator', os: process.platform },
      },
    });
    if (this.stopped) return;
    const socket = io(`${this.url}${registration.realtime.namespace}`, {
      path: registration.realtime.path,
      transports: ['websocket'],
      auth: { deviceId: this.credentials.deviceId, secret: this.credentials.secret },
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 30_000,
      randomizationFactor: 0.5,
    });
    this.socket = socket;
    socket.on('connect', () => {
      this.connected = true;
      this.heartbeat();
      clearInterval(this.timer);
      this.timer = setInterval(() => {
        this.heartbeat();
      }, registration.heartbeatIntervalSec * 1000);
    });
    socket.on('disconnect', (reason) => {
      this.connected = false;
      clearInterval(this.timer);
      if (reason === 'io server disconnect' && this.ended === undefined) {
        // Closed by the gateway without saying why: come back.
        socket.connect();
      }
    });
    socket.on('connection:closing', ({ reason }: { reason: string }) => {
      if (reason === 'shutdown') {
        // That instance is stopping and closes the transport: socket.io-client reconnects by itself.
        log(`${this.credentials.deviceId}: the gateway instance is shutting down; reconnecting`);
        return;
      }
      this.ended = reason;
      log(`${this.credentials.deviceId}: connection closed by the gateway (${reason}); not reconnecting`);
    });
    socket.on('connect_error', (error: Error & { data?: { code?: string } }) => {
      if (error.data?.code === 'invalid_credentials') {
        this.ended = 'invalid_credentials';
        socket.disconnect();
        log(`${this.credentials.deviceId}: credentials refused; stopping`);
      }
    });
    socket.on('command', (command: { id?: string }, ack?: (reply: unknown) => void) => {
      log(`${this.credentials.deviceId}: command ${command.id ?? '?'} received; the simulator runs none yet`);
      ack?.({ accepted: false, reason: 'the simulator does not execute commands' });
    });
  }

  private heartbeat(): void {
    const socket = this.socket;
    if (!socket?.connected) return;
    socket
      .timeout(10_000)
      .emitWithAck('heartbeat', {
        uptimeSec: Math.floor(uptime()),
        agentVersion: AGENT_VERSION,
        metrics: { cpuPct: Math.round(Math.random() * 30), memPct: 42, diskPct: 57, load1: 0.3 },
        network: { gatewayReachable: true, dnsOk: true, latencyMs: 8 + Math.round(Math.random() * 10) },
      })
      .catch((error: unknown) => {
        log(`${this.credentials.deviceId}: heartbeat not acknowledged (${String(error)})`);
      });
  }

  /** Closes the socket (the gateway gets a client disconnect); an agent still registering never connects. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.socket?.close();
  }
}

/** Past this after SIGTERM/SIGINT, sockets that have not finished closing are abandoned. */
const STOP_GRACE_MS = 5_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      devices: { type: 'string', default: '1' },
      url: { type: 'string', default: 'http://127.0.0.1:3000' },
      token: { type: 'string' },
      credentials: { type: 'string', default: 'agent-sim.credentials.json' },
    },
  });
  const count = Number(values.devices);
  if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new Error('--devices must be 1..10000');
  const url = values.url.replace(/\/+$/, '');
  const agents: SimulatedAgent[] = [];
  const stopping = new AbortController();
  let token: Promise<string> | undefined;
  const lazyToken = () => (token ??= customerToken(values.token));

  const report = setInterval(() => {
    const connected = agents.filter((agent) => agent.connected).length;
    void lazyToken()
      .then((bearer) =>
        call<{ items: unknown[] }>(`${url}/v1/devices?state=online&limit=100`, {
          authorization: `Bearer ${bearer}`,
        }),
      )
      .then(
        (page) => {
          log(
            `${connected}/${count} sockets connected; the gateway lists ${page.items.length}${page.items.length === 100 ? '+' : ''} devices online`,
          );
        },
        () => {
          log(`${connected}/${count} sockets connected`);
        },
      );
  }, 5000);

  // The process ends by itself once every socket has closed (the gateway sees each device leave with a
  // client disconnect, not a dropped connection); exiting at once would cut the close handshakes short.
  // Installed before any agent starts, so that a signal during start-up stops those started so far;
  // `on`, not `once`, as Ctrl-C under npm delivers SIGINT twice.
  const stop = (signal: NodeJS.Signals) => {
    if (stopping.signal.aborted) return;
    stopping.abort();
    clearInterval(report);
    for (const agent of agents) agent.stop();
    log(`${signal}: closing ${agents.length} sockets`);
    setTimeout(() => {
      log(`sockets still open ${STOP_GRACE_MS} ms after ${signal}; exiting anyway`);
      process.exit(1);
    }, STOP_GRACE_MS).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.once('exit', (code) => {
    if (stopping.signal.aborted && code === 0) log('stopped');
  });

  const credentials = await ensureCredentials(url, count, values.credentials, lazyToken);
  for (const entry of credentials) {
    if (stopping.signal.aborted) return;
    const agent = new SimulatedAgent(url, entry);
    agents.push(agent);
    await agent.start();
  }
  if (!stopping.signal.aborted) log(`${count} agents started against ${url}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

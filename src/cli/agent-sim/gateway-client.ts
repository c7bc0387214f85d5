import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { hostname, uptime } from 'node:os';
import { createDevToken, createSecretSignedToken } from '../../auth/dev-token';
import { DataBackend } from '../../config/app-config';
import { loadConfigFromEnvironment } from '../../config/environment';
import { type SimBehaviour } from './command-runner';

export interface Credentials {
  deviceId: string;
  secret: string;
}

export interface RegisterResponse {
  heartbeatIntervalSec: number;
  realtime: { namespace: string; path: string };
}

/** The customer the simulator's devices belong to when it mints its own token without --customer. */
export const SIM_CUSTOMER_SUB = '00000000-0000-4000-8000-00000000a9e7';

export function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

export interface GatewayAnswer {
  status: number;
  /** The parsed JSON body; undefined when there was none. */
  body: unknown;
}

/** One request to the gateway; a network failure or timeout rejects, any HTTP answer resolves. */
export async function request(
  url: string,
  init: { method?: string; authorization: string; body?: unknown; signal?: AbortSignal },
): Promise<GatewayAnswer> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      authorization: init.authorization,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: init.signal,
  });
  return { status: response.status, body: parseBody(await response.text()) };
}

/** JSON as the gateway answers; the text itself when something in between answered otherwise. */
function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A request that must succeed: anything but a 2xx rejects, naming the answer. */
export async function call<T>(
  url: string,
  init: { method?: string; authorization: string; body?: unknown },
): Promise<T> {
  const answer = await request(url, init);
  if (answer.status < 200 || answer.status > 299) {
    throw new Error(
      `${init.method ?? 'GET'} ${url} answered ${answer.status}: ${JSON.stringify(answer.body)}`,
    );
  }
  return answer.body as T;
}

export const basic = ({ deviceId, secret }: Credentials): string =>
  `Basic ${Buffer.from(`${deviceId}:${secret}`).toString('base64')}`;

/** The token the simulator creates its devices with: the one given, or one minted as `dev:token` does. */
export async function customerToken(given: string | undefined, customer: string): Promise<string> {
  if (given) return given;
  const config = loadConfigFromEnvironment();
  const options = { sub: customer, ttlSec: 24 * 3600, email: 'agent-sim@example.test' };
  if (config.DATA_BACKEND === DataBackend.Embedded) return createDevToken(config.DATA_DIR, options);
  if (config.SUPABASE_URL !== undefined && config.SUPABASE_JWT_SECRET !== undefined) {
    return createSecretSignedToken(
      { supabaseUrl: config.SUPABASE_URL, jwtSecret: config.SUPABASE_JWT_SECRET },
      options,
    );
  }
  throw new Error(
    'Pass --token <customer access token>: only an embedded gateway, or one with SUPABASE_JWT_SECRET set as here, lets the simulator mint one',
  );
}

export async function ensureCredentials(
  url: string,
  count: number,
  file: string,
  token: () => Promise<string>,
): Promise<Credentials[]> {
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

export const AGENT_VERSION = 'sim-1.0.0';

export interface AgentOptions {
  url: string;
  credentials: Credentials;
  capabilities: readonly string[];
  behaviour: SimBehaviour;
  /** `--disconnect-mid-command` (socket only). */
  disconnectMidCommand?: boolean;
  /** Where the agent's lines go; stdout, timestamped, unless given. */
  log?: (line: string) => void;
}

/** The heartbeat both transports send (docs/guide.md#devices-and-presence). */
export function heartbeatBody() {
  return {
    uptimeSec: Math.floor(uptime()),
    agentVersion: AGENT_VERSION,
    metrics: { cpuPct: Math.round(Math.random() * 30), memPct: 42, diskPct: 57, load1: 0.3 },
    network: { gatewayReachable: true, dnsOk: true, latencyMs: 8 + Math.round(Math.random() * 10) },
  };
}

export async function register(options: AgentOptions): Promise<RegisterResponse> {
  return call<RegisterResponse>(`${options.url}/v1/agent/register`, {
    method: 'POST',
    authorization: basic(options.credentials),
    body: {
      agentVersion: AGENT_VERSION,
      capabilities: options.capabilities,
      hardware: { model: 'simulator', os: process.platform },
    },
  });
}

import { randomUUID } from 'node:crypto';
import { type InjectOptions, type LightMyRequestResponse } from 'fastify';
import { createDevToken } from '../../src/auth/dev-token';
import { type DeviceRecord } from '../../src/devices/device';
import { DeviceRepository } from '../../src/devices/device.repository';
import { type DeviceResponse } from '../../src/devices/dto/device.response';
import { HeartbeatFlusher } from '../../src/devices/presence/heartbeat-flusher';
import { type InProcessApp, startInProcessApp } from '../support/in-process-app';
import { openRawConnection } from '../support/raw-connections';
import { type SupabaseStack, startSupabaseStack } from '../support/supabase-stack';
import { checkHttpAnswer, type RawHttpResponse, withinDeadline } from './fuzz-oracles';

/** PGlite with the memory cache, or PostgreSQL with real Redis. */
export type FuzzBackend = 'embedded' | 'postgres';

export interface CreatedDevice {
  device: DeviceResponse;
  credentials: { deviceId: string; secret: string };
}

export interface FuzzCustomer {
  id: string;
  authorization: string;
}

/**
 * The real gateway on one backend, listening on 127.0.0.1, with two customers, and a watch list of
 * devices whose stored rows no fuzzed input may change.
 */
export interface FuzzGateway {
  backend: FuzzBackend;
  app: InProcessApp['app'];
  port: number;
  url: string;
  customer: FuzzCustomer;
  other: FuzzCustomer;
  /**
   * The device rows as the repository (so the database) reads them, once the heartbeat payloads this
   * gateway queued are written: what it accepted is stored within a flush interval, not within the answer.
   */
  devices: Pick<DeviceRepository, 'findById'>;
  /** A fresh access token of a customer, as its identity provider would issue it. */
  tokenFor(customerId: string, expiresInSeconds?: number): Promise<string>;
  /** app.inject, answered within the fuzz deadline. */
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** Writes `request` on a new TCP connection and reads the whole answer, within the fuzz deadline. */
  raw(request: string): Promise<RawHttpResponse>;
  createDevice(owner: FuzzCustomer, name?: string): Promise<CreatedDevice>;
  /** GET /v1/devices/:id as the customer, which must answer 200. */
  readDevice(deviceId: string): Promise<DeviceResponse>;
  /** Remembers a device's stored row; expectWatchedUnchanged fails if it changed. */
  watch(deviceId: string): Promise<void>;
  expectWatchedUnchanged(): Promise<void>;
  close(): Promise<void>;
}

export const basicAuthorization = ({ deviceId, secret }: CreatedDevice['credentials']): string =>
  `Basic ${Buffer.from(`${deviceId}:${secret}`).toString('base64')}`;

export async function startFuzzGateway(backend: FuzzBackend, suite: string): Promise<FuzzGateway> {
  // Presence must not move on its own while a property runs: the watched rows would change.
  const env: Record<string, string> = { LOG_LEVEL: 'silent', HEARTBEAT_INTERVAL_SEC: '3600' };
  let stack: SupabaseStack | undefined;
  if (backend === 'postgres') {
    stack = await startSupabaseStack();
    Object.assign(env, {
      DATA_BACKEND: 'postgres',
      DATABASE_URL: stack.database.url,
      SUPABASE_URL: stack.url,
      DEVICE_SECRET_PEPPER: 'test-pepper-0123456789abcdef0123456789abcdef',
      CACHE_BACKEND: 'redis',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: `test:fuzz-${suite}:${randomUUID()}:`,
    });
  }
  let gateway: InProcessApp | undefined;
  try {
    gateway = await startInProcessApp({ env });
    await gateway.app.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    await gateway?.close();
    await stack?.stop();
    throw error;
  }
  const started = gateway;
  const address = started.app.getHttpServer().address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const tokenFor = async (customerId: string, expiresInSeconds = 3600): Promise<string> =>
    stack
      ? (await stack.mintCustomerToken({ customerId, expiresInSeconds })).accessToken
      : createDevToken(started.dataDir, { sub: customerId, ttlSec: expiresInSeconds });
  const customerOf = async (): Promise<FuzzCustomer> => {
    const id = randomUUID();
    return { id, authorization: `Bearer ${await tokenFor(id)}` };
  };
  const repository = started.app.get(DeviceRepository);
  const heartbeats = started.app.get(HeartbeatFlusher);
  const devices: FuzzGateway['devices'] = {
    async findById(id) {
      await heartbeats.flush();
      return repository.findById(id);
    },
  };
  const watched = new Map<string, DeviceRecord | null>();
  const inject = (options: InjectOptions): Promise<LightMyRequestResponse> =>
    withinDeadline(
      `${options.method ?? 'GET'} ${typeof options.url === 'string' ? options.url : 'a request'}`,
      started.app.inject(options),
    );

  const customer = await customerOf();
  const self: FuzzGateway = {
    backend,
    app: started.app,
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    customer,
    other: await customerOf(),
    devices,
    tokenFor,
    inject,
    raw: async (request) => {
      const connection = await openRawConnection(address.port, request);
      try {
        await withinDeadline(request.split('\r\n')[0] ?? 'a raw request', connection.closed);
      } finally {
        connection.socket.destroy();
      }
      return parseRawResponse(connection.received());
    },
    async createDevice(owner, name = 'fuzz-pi') {
      const response = await inject({
        method: 'POST',
        url: '/v1/devices',
        headers: { authorization: owner.authorization },
        payload: { name },
      });
      checkHttpAnswer(response);
      if (response.statusCode !== 201) throw new Error(`creating a device answered ${response.statusCode}`);
      return response.json<CreatedDevice>();
    },
    async readDevice(deviceId) {
      const response = await inject({
        method: 'GET',
        url: `/v1/devices/${deviceId}`,
        headers: { authorization: customer.authorization },
      });
      const device = checkHttpAnswer(response);
      expect(response.statusCode).toBe(200);
      return device as DeviceResponse;
    },
    async watch(deviceId) {
      watched.set(deviceId, await devices.findById(deviceId));
    },
    async expectWatchedUnchanged() {
      for (const [deviceId, before] of watched) {
        expect({ deviceId, stored: await devices.findById(deviceId) }).toEqual({ deviceId, stored: before });
      }
    },
    async close() {
      await started.close();
      await stack?.stop();
    },
  };
  return self;
}

/** Status, headers and body of an HTTP/1.1 answer read off a connection the server closed. */
export function parseRawResponse(text: string): RawHttpResponse {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`not an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers = Object.fromEntries(
    lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  let body = text.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status, headers, body };
}

function dechunk(text: string): string {
  let body = '';
  let rest = text;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!(size > 0)) return body;
    // Sizes count bytes; the text was decoded as UTF-8.
    const bytes = Buffer.from(rest.slice(lineEnd + 2), 'utf8');
    body += bytes.subarray(0, size).toString('utf8');
    rest = bytes.subarray(size + 2).toString('utf8');
  }
}

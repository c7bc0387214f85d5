/**
 * What both bare servers share: the gateway's validation options, the device credential check, as the gateway's verification cache holds it once each
 * device has authenticated: the secret's keyed hash, in memory from the start. Their own pepper: the
 * gateway's is not needed to check the same secrets.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Server as HttpServer } from 'node:http';
import { type Options as AjvOptions } from 'ajv';
import { type Namespace, Server } from 'socket.io';
import { type BenchDevice } from '../runner/local';

/** As the gateway validates: every violation reported, nothing coerced, removed or defaulted. */
export const AJV_OPTIONS: AjvOptions = {
  allErrors: true,
  strict: false,
  strictNumbers: true,
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: false,
};

/** The devices of `devicesFile` (JSON BenchDevice[]); the presented secret is hashed whether or not the device is known. */
export function deviceVerifier(devicesFile: string): (deviceId: string, secret: string) => boolean {
  const pepper = randomBytes(32).toString('base64url');
  const digest = (secret: string): Buffer => createHmac('sha256', pepper).update(secret, 'utf8').digest();
  const hashes = new Map(
    (JSON.parse(readFileSync(devicesFile, 'utf8')) as BenchDevice[]).map((device) => [
      device.deviceId,
      digest(device.secret),
    ]),
  );
  // Every attempt costs one HMAC, known device or not.
  return (deviceId, secret) => {
    const stored = hashes.get(deviceId);
    const presented = digest(secret);
    return stored !== undefined && timingSafeEqual(presented, stored);
  };
}

/**
 * Socket.IO on `http` with the gateway's transport options (socketTransportOptions), without its cluster
 * adapter and connection state recovery, and its `/agent` namespace authenticating each handshake's
 * `auth { deviceId, secret }` with `verify`; the device's id is in `socket.data.deviceId`.
 */
export function bareAgentNamespace(
  http: HttpServer,
  verify: (deviceId: string, secret: string) => boolean,
  maxMessageBytes: number,
): { io: Server; agents: Namespace } {
  const io = new Server(http, {
    path: '/socket.io',
    transports: ['websocket'],
    perMessageDeflate: false,
    httpCompression: false,
    maxHttpBufferSize: maxMessageBytes,
    serveClient: false,
  });
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
  return { io, agents };
}

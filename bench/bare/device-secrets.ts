/**
 * The bare servers' device credential check, as the gateway's verification cache holds it once each
 * device has authenticated: the secret's keyed hash, in memory from the start. Their own pepper: the
 * gateway's is not needed to check the same secrets.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type BenchDevice } from '../runner/local';

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

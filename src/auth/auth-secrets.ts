import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { type AppConfig, DataBackend } from '../config/app-config';

/** Issuer of the development tokens that only an embedded gateway accepts. */
export const EMBEDDED_TOKEN_ISSUER = 'urn:netdiag:embedded-dev/auth/v1';
export const EMBEDDED_KEY_ID = 'embedded-dev';

export interface DevSigningKey {
  privateJwk: JWK;
  publicJwk: JWK;
}

/** Secrets that an embedded gateway makes for itself on first start and keeps in DATA_DIR. */
export class AuthSecrets {
  constructor(
    readonly devicePepper: string,
    readonly devSigningKey: DevSigningKey | null,
  ) {}

  static async load(config: AppConfig): Promise<AuthSecrets> {
    if (config.DATA_BACKEND !== DataBackend.Embedded) {
      return new AuthSecrets(config.DEVICE_SECRET_PEPPER ?? '', null);
    }
    const directory = secretsDirectory(config.DATA_DIR);
    const pepper =
      config.DEVICE_SECRET_PEPPER ??
      loadOrCreate(join(directory, 'device-secret-pepper'), () => randomBytes(32).toString('base64url'));
    return new AuthSecrets(pepper, await loadOrCreateDevSigningKey(config.DATA_DIR));
  }
}

function secretsDirectory(dataDir: string): string {
  const directory = resolve(dataDir, 'secrets');
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  return directory;
}

function loadOrCreate(path: string, create: () => string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const value = create();
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return value;
}

/** The ES256 key development tokens are signed with (`npm run dev:token`). */
export async function loadOrCreateDevSigningKey(dataDir: string): Promise<DevSigningKey> {
  const path = join(secretsDirectory(dataDir), 'dev-signing-key.json');
  if (existsSync(path)) {
    const privateJwk = JSON.parse(readFileSync(path, 'utf8')) as JWK;
    const { d: _private, ...publicJwk } = privateJwk; // the public half: everything but `d`
    await importJWK(privateJwk, 'ES256');
    return { privateJwk, publicJwk };
  }
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: EMBEDDED_KEY_ID, alg: 'ES256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid: EMBEDDED_KEY_ID, alg: 'ES256', use: 'sig' };
  writeFileSync(path, JSON.stringify(privateJwk), { mode: 0o600 });
  return { privateJwk, publicJwk };
}

import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { EMBEDDED_KEY_ID, EMBEDDED_TOKEN_ISSUER, loadOrCreateDevSigningKey } from './auth-secrets';

export interface DevTokenOptions {
  sub: string;
  admin?: boolean;
  ttlSec?: number;
  email?: string;
}

/**
 * A customer access token that only an embedded gateway on the same DATA_DIR accepts (PRODUCT §8),
 * shaped like Supabase's and signed with the development key kept in DATA_DIR/secrets.
 */
export async function createDevToken(dataDir: string, options: DevTokenOptions): Promise<string> {
  const key = await loadOrCreateDevSigningKey(dataDir);
  return new SignJWT({
    role: 'authenticated',
    session_id: randomUUID(),
    email: options.email ?? `${options.sub.slice(0, 8)}@example.test`,
    app_metadata: { provider: 'email', ...(options.admin ? { role: 'admin' } : {}) },
    user_metadata: {},
  })
    .setProtectedHeader({ alg: 'ES256', kid: EMBEDDED_KEY_ID, typ: 'JWT' })
    .setIssuer(EMBEDDED_TOKEN_ISSUER)
    .setAudience('authenticated')
    .setSubject(options.sub)
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSec ?? 3600}s`)
    .sign(await importJWK(key.privateJwk, 'ES256'));
}

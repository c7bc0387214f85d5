import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { EMBEDDED_KEY_ID, EMBEDDED_TOKEN_ISSUER, loadOrCreateDevSigningKey } from './auth-secrets';

export interface DevTokenOptions {
  sub: string;
  admin?: boolean;
  ttlSec?: number;
  email?: string;
}

/** The claims of a Supabase Auth access token, unsigned. */
function customerToken(options: DevTokenOptions): SignJWT {
  return new SignJWT({
    role: 'authenticated',
    session_id: randomUUID(),
    email: options.email ?? `${options.sub.slice(0, 8)}@example.test`,
    app_metadata: { provider: 'email', ...(options.admin ? { role: 'admin' } : {}) },
    user_metadata: {},
  })
    .setAudience('authenticated')
    .setSubject(options.sub)
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSec ?? 3600}s`);
}

/**
 * A customer access token that only an embedded gateway on the same DATA_DIR accepts (README.md#running-modes),
 * shaped like Supabase's and signed with the development key kept in DATA_DIR/secrets.
 */
export async function createDevToken(dataDir: string, options: DevTokenOptions): Promise<string> {
  const key = await loadOrCreateDevSigningKey(dataDir);
  return customerToken(options)
    .setProtectedHeader({ alg: 'ES256', kid: EMBEDDED_KEY_ID, typ: 'JWT' })
    .setIssuer(EMBEDDED_TOKEN_ISSUER)
    .sign(await importJWK(key.privateJwk, 'ES256'));
}

/**
 * A customer access token signed HS256 with a project's JWT secret and issued by `<SUPABASE_URL>/auth/v1`:
 * every gateway configured with that SUPABASE_URL and SUPABASE_JWT_SECRET accepts it, as it accepts tokens
 * of the project's legacy JWT secret. For local postgres + redis clusters, where no Supabase Auth issues
 * tokens.
 */
export function createSecretSignedToken(
  project: { supabaseUrl: string; jwtSecret: string },
  options: DevTokenOptions,
): Promise<string> {
  return customerToken(options)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(`${project.supabaseUrl.replace(/\/+$/, '')}/auth/v1`)
    .sign(new TextEncoder().encode(project.jwtSecret));
}

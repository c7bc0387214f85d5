import { randomBytes, randomUUID } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK, SignJWT } from 'jose';

/**
 * The keys of a test "Supabase project": the legacy HS256 JWT secret (service-role key) and an ES256
 * signing key with a kid (customer access tokens), as a project using asymmetric JWT signing keys has.
 */
export interface TestSigningKeys {
  /** The legacy JWT secret, raw bytes as Supabase's `jwt_secret` setting holds them. */
  legacySecret: Uint8Array;
  accessTokenKeyId: string;
  accessTokenPrivateKey: CryptoKey;
  /** What `<url>/auth/v1/.well-known/jwks.json` serves: the public signing key only. */
  publicJwks: JSONWebKeySet;
  /** What PostgREST verifies with (PGRST_JWT_SECRET): the legacy secret and the public signing key. */
  postgrestJwks: JSONWebKeySet;
}

export async function createTestSigningKeys(): Promise<TestSigningKeys> {
  const legacySecret = new Uint8Array(randomBytes(32));
  const accessTokenKeyId = randomUUID();
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: accessTokenKeyId, alg: 'ES256', use: 'sig' };
  const legacyJwk: JWK = { ...(await exportJWK(legacySecret)), alg: 'HS256' };
  return {
    legacySecret,
    accessTokenKeyId,
    accessTokenPrivateKey: privateKey,
    publicJwks: { keys: [publicJwk] },
    postgrestJwks: { keys: [legacyJwk, publicJwk] },
  };
}

const TEN_YEARS_SECONDS = 10 * 365 * 24 * 3600;

/**
 * A legacy-style `service_role` API key, as Supabase issued them: HS256 with the project's JWT secret and no
 * kid. PostgREST switches to the service_role (RLS bypassed) for requests carrying it.
 */
export async function mintServiceRoleKey(keys: TestSigningKeys): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: 'supabase', ref: 'test', role: 'service_role' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(now + TEN_YEARS_SECONDS)
    .sign(keys.legacySecret);
}

export interface CustomerTokenClaims {
  /** The customer's auth.users id; a new uuid when omitted. */
  customerId?: string;
  sessionId?: string;
  email?: string;
  appMetadata?: Record<string, unknown>;
  userMetadata?: Record<string, unknown>;
  /** Lifetime from now; negative for an already expired token. Supabase's default is one hour. */
  expiresInSeconds?: number;
  /** Overrides any claim (aud, role, iss...) to build a deliberately wrong token. */
  extraClaims?: Record<string, unknown>;
}

export interface CustomerToken {
  accessToken: string;
  customerId: string;
  sessionId: string;
  email: string;
}

/**
 * A customer access token shaped exactly like Supabase Auth's: ES256 with the signing key's kid,
 * iss `<project url>/auth/v1`, aud and role `authenticated`, sub, session_id, email, app_metadata.
 */
export async function mintCustomerAccessToken(
  keys: TestSigningKeys,
  projectUrl: string,
  claims: CustomerTokenClaims = {},
): Promise<CustomerToken> {
  const customerId = claims.customerId ?? randomUUID();
  const sessionId = claims.sessionId ?? randomUUID();
  const email = claims.email ?? `customer-${customerId.slice(0, 8)}@example.test`;
  const now = Math.floor(Date.now() / 1000);
  // Claims set in the payload rather than with SignJWT's setters, so that extraClaims can override any.
  const accessToken = await new SignJWT({
    iss: `${projectUrl}/auth/v1`,
    sub: customerId,
    aud: 'authenticated',
    exp: now + (claims.expiresInSeconds ?? 3600),
    iat: now,
    role: 'authenticated',
    email,
    phone: '',
    app_metadata: claims.appMetadata ?? { provider: 'email', providers: ['email'] },
    user_metadata: claims.userMetadata ?? {},
    aal: 'aal1',
    amr: [{ method: 'password', timestamp: now }],
    session_id: sessionId,
    is_anonymous: false,
    ...claims.extraClaims,
  })
    .setProtectedHeader({ alg: 'ES256', kid: keys.accessTokenKeyId, typ: 'JWT' })
    .sign(keys.accessTokenPrivateKey);
  return { accessToken, customerId, sessionId, email };
}

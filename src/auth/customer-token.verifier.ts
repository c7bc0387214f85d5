import { createSecretKey } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors as joseErrors,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
import { DependencyUnavailableError } from '../common/errors/common.errors';
import { AppConfig } from '../config/app-config';
import { AuthFailure } from './auth.errors';
import { AuthSecrets, EMBEDDED_TOKEN_ISSUER } from './auth-secrets';
import { type CustomerPrincipal } from './principal';
import { isUuid } from '../common/uuid';

const CLOCK_TOLERANCE_SEC = 5;
/** After an unknown `kid`, the JWKS is fetched again at most this often: forged kids cannot flood Supabase. */
const JWKS_COOLDOWN_MS = 30_000;
const JWKS_MAX_AGE_MS = 10 * 60_000;
const JWKS_TIMEOUT_MS = 5_000;

interface TrustedIssuer {
  keys: JWTVerifyGetKey;
  algorithms: string[];
}

interface SupabaseClaims extends JWTPayload {
  role?: unknown;
  session_id?: unknown;
  email?: unknown;
  app_metadata?: { role?: unknown };
}

/**
 * Verifies Supabase access tokens locally (docs/guide.md#principals-and-authentication). `supabase.auth.getClaims()` is not used: it checks
 * neither `aud`, `iss` nor `role`. The issuer picks the keys; `alg: none` and any algorithm not listed
 * for that issuer are refused by jose before a signature is even looked at.
 */
@Injectable()
export class CustomerTokenVerifier {
  private readonly issuers = new Map<string, TrustedIssuer>();

  constructor(config: AppConfig, secrets: AuthSecrets) {
    if (config.SUPABASE_URL !== undefined) {
      const base = config.SUPABASE_URL.replace(/\/+$/, '');
      const jwks = createRemoteJWKSet(new URL(`${base}/auth/v1/.well-known/jwks.json`), {
        cooldownDuration: JWKS_COOLDOWN_MS,
        cacheMaxAge: JWKS_MAX_AGE_MS,
        timeoutDuration: JWKS_TIMEOUT_MS,
      });
      const secret = config.SUPABASE_JWT_SECRET;
      // A KeyObject, not the secret's bytes: jose imports bytes as a CryptoKey on every verification, a
      // KeyObject once (it keeps the CryptoKey made from it).
      const hmacKey = secret === undefined ? undefined : createSecretKey(Buffer.from(secret, 'utf8'));
      const keys: JWTVerifyGetKey = (header, token) =>
        header.alg === 'HS256' && hmacKey !== undefined ? hmacKey : jwks(header, token);
      this.issuers.set(`${base}/auth/v1`, {
        keys,
        algorithms: hmacKey === undefined ? ['ES256', 'RS256'] : ['ES256', 'RS256', 'HS256'],
      });
    }
    if (secrets.devSigningKey !== null) {
      this.issuers.set(EMBEDDED_TOKEN_ISSUER, {
        keys: createLocalJWKSet({ keys: [secrets.devSigningKey.publicJwk] }),
        algorithms: ['ES256'],
      });
    }
  }

  async verify(token: string): Promise<CustomerPrincipal | AuthFailure> {
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      return new AuthFailure('malformed', 'not a JWT');
    }
    const trusted = issuer === undefined ? undefined : this.issuers.get(issuer);
    if (issuer === undefined || trusted === undefined) {
      return new AuthFailure('bad_token', 'untrusted issuer');
    }
    let claims: SupabaseClaims;
    try {
      ({ payload: claims } = await jwtVerify<SupabaseClaims>(token, trusted.keys, {
        issuer,
        audience: 'authenticated',
        algorithms: trusted.algorithms,
        clockTolerance: CLOCK_TOLERANCE_SEC,
        requiredClaims: ['exp', 'sub', 'session_id'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return new AuthFailure('expired', 'token expired');
      if (error instanceof joseErrors.JWKSNoMatchingKey) return new AuthFailure('unknown_key', 'unknown kid');
      // The keys could not be fetched: not the caller's fault, so 503 rather than a 401 that would sign
      // every user out of the portal during an Auth outage.
      if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) {
        throw new DependencyUnavailableError('identity_provider', error);
      }
      if (error instanceof joseErrors.JWKSInvalid)
        throw new DependencyUnavailableError('identity_provider', error);
      return new AuthFailure('bad_token', error.code);
    }
    if (claims.role !== 'authenticated') return new AuthFailure('bad_token', 'role is not authenticated');
    if (typeof claims.sub !== 'string' || !isUuid(claims.sub)) {
      return new AuthFailure('bad_token', 'sub is not a UUID');
    }
    if (typeof claims.session_id !== 'string' || claims.session_id === '') {
      return new AuthFailure('bad_token', 'no session_id');
    }
    return {
      kind: 'customer',
      userId: claims.sub.toLowerCase(),
      sessionId: claims.session_id,
      isAdmin: claims.app_metadata?.role === 'admin',
      email: typeof claims.email === 'string' ? claims.email : null,
      expiresAt: (claims.exp ?? 0) * 1000,
    };
  }
}

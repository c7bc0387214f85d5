import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type CryptoKey, generateKeyPair, SignJWT } from 'jose';
import { bearer, type GatewayInstance, request, startGatewayInstance } from '../support/gateway-instance';
import { makeDataDir, startInProcessApp, type InProcessApp } from '../support/in-process-app';
import { type SupabaseStack, startSupabaseStack } from '../support/supabase-stack';

const run = promisify(execFile);
const DEV_TOKEN_SCRIPT = join(__dirname, '..', '..', 'dist', 'cli', 'dev-token.js');
const HS256_SECRET = 'project-jwt-secret-0123456789abcdef0123456789';

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** `npm run dev:token` as a user runs it (the built script), against a given DATA_DIR. */
async function devToken(dataDir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [DEV_TOKEN_SCRIPT, ...args], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir },
  });
  return stdout.trim();
}

describe('customer access tokens (docs/guide.md#principals-and-authentication)', () => {
  let stack: SupabaseStack;
  let gateway: GatewayInstance;
  let withSecret: GatewayInstance;

  beforeAll(async () => {
    stack = await startSupabaseStack();
    gateway = await startGatewayInstance(stack.appConfig({ LOG_LEVEL: 'warn' }));
    withSecret = await startGatewayInstance(
      stack.appConfig({ LOG_LEVEL: 'warn', SUPABASE_JWT_SECRET: HS256_SECRET }),
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await withSecret?.close();
    await stack?.stop();
  });

  const status = async (instance: GatewayInstance, authorization: string | undefined) =>
    (await request(`${instance.url}/v1/devices`, { authorization })).status;

  it('accepts a token exactly as Supabase Auth issues it', async () => {
    const { accessToken } = await stack.mintCustomerToken();
    expect(await status(gateway, bearer(accessToken))).toBe(200);
  });

  it('refuses every forged or unacceptable token with 401', async () => {
    const valid = await stack.mintCustomerToken();
    const [header, payload] = valid.accessToken.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const otherKey = await generateKeyPair('ES256');
    const now = Math.floor(Date.now() / 1000);
    const signWith = (key: CryptoKey | Uint8Array, protectedHeader: Record<string, unknown>, body = claims) =>
      new SignJWT(body).setProtectedHeader({ alg: 'ES256', ...protectedHeader }).sign(key);

    const forged: Record<string, string> = {
      'alg none': `${base64url({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      'alg none keeping the kid': `${base64url({ ...JSON.parse(Buffer.from(header, 'base64url').toString()), alg: 'none' })}.${payload}.`,
      'wrong iss': (await stack.mintCustomerToken({ extraClaims: { iss: 'https://evil.example/auth/v1' } }))
        .accessToken,
      'wrong aud': (await stack.mintCustomerToken({ extraClaims: { aud: 'anon' } })).accessToken,
      'role anon': (await stack.mintCustomerToken({ extraClaims: { role: 'anon' } })).accessToken,
      'role service_role': (await stack.mintCustomerToken({ extraClaims: { role: 'service_role' } }))
        .accessToken,
      expired: (await stack.mintCustomerToken({ expiresInSeconds: -60 })).accessToken,
      'no exp': await signWith(
        stack.keys.accessTokenPrivateKey,
        { kid: stack.keys.accessTokenKeyId },
        { ...claims, exp: undefined },
      ),
      'unknown kid': await signWith(otherKey.privateKey, { kid: randomUUID() }),
      'another key with the known kid': await signWith(otherKey.privateKey, {
        kid: stack.keys.accessTokenKeyId,
      }),
      'HS256 when no secret is configured': await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(stack.keys.legacySecret),
      'sub not a uuid': (await stack.mintCustomerToken({ extraClaims: { sub: 'admin' } })).accessToken,
      'no session_id': (await stack.mintCustomerToken({ extraClaims: { session_id: undefined } }))
        .accessToken,
      'the service role key': stack.serviceRoleKey,
      'tampered payload': `${header}.${base64url({ ...claims, app_metadata: { role: 'admin' } })}.${valid.accessToken.split('.')[2] ?? ''}`,
      garbage: 'not-a-jwt',
    };
    const outcomes = Object.fromEntries(
      await Promise.all(
        Object.entries(forged).map(
          async ([name, token]) => [name, await status(gateway, bearer(token))] as const,
        ),
      ),
    );
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(forged).map((name) => [name, 401])));
    expect(now).toBeGreaterThan(0);
  });

  it('caches the JWKS and refetches it at most once per cooldown for unknown key ids', async () => {
    const { accessToken } = await stack.mintCustomerToken();
    expect(await status(gateway, bearer(accessToken))).toBe(200);
    const before = stack.front.jwksRequests;
    const attacker = await generateKeyPair('ES256');
    const claims = {
      iss: `${stack.url}/auth/v1`,
      aud: 'authenticated',
      role: 'authenticated',
      sub: randomUUID(),
      session_id: randomUUID(),
    };
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: randomUUID() })
        .setExpirationTime('5m')
        .sign(attacker.privateKey);
      expect(await status(gateway, bearer(forged))).toBe(401);
    }
    expect(stack.front.jwksRequests - before).toBeLessThanOrEqual(1);
    // Known keys are still served from the cache.
    expect(await status(gateway, bearer(accessToken))).toBe(200);
  });

  it('refuses missing and non-Bearer credentials with 401 problem+json', async () => {
    for (const authorization of [undefined, 'Bearer', 'Basic dXNlcjpwYXNz', 'Token abc']) {
      const response = await request(`${gateway.url}/v1/devices`, { authorization });
      expect({ authorization, status: response.status }).toEqual({ authorization, status: 401 });
      expect(response.contentType).toContain('application/problem+json');
    }
  });

  it('says when a token has expired', async () => {
    const { accessToken } = await stack.mintCustomerToken({ expiresInSeconds: -60 });
    const response = await request(`${gateway.url}/v1/devices`, { authorization: bearer(accessToken) });
    expect(response.body).toMatchObject({ status: 401, code: 'token_expired' });
  });

  it('accepts HS256 only when SUPABASE_JWT_SECRET is configured, and only with that secret', async () => {
    const claims = {
      iss: `${stack.url}/auth/v1`,
      aud: 'authenticated',
      role: 'authenticated',
      sub: randomUUID(),
      session_id: randomUUID(),
    };
    const sign = (secret: string) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
    expect(await status(withSecret, bearer(await sign(HS256_SECRET)))).toBe(200);
    expect(await status(withSecret, bearer(await sign(`${HS256_SECRET}-other`)))).toBe(401);
    expect(await status(gateway, bearer(await sign(HS256_SECRET)))).toBe(401);
  });

  it('refuses a development token outside the embedded mode', async () => {
    const token = await devToken(makeDataDir(), '--sub', randomUUID());
    expect(await status(gateway, bearer(token))).toBe(401);
  });
});

describe('development tokens in the embedded mode (README.md#running-modes)', () => {
  let embedded: InProcessApp;

  beforeAll(async () => {
    embedded = await startInProcessApp({ env: { LOG_LEVEL: 'warn' } });
  });

  afterAll(async () => {
    await embedded?.close();
  });

  it('accepts `npm run dev:token` for its own DATA_DIR, with the admin flag honoured', async () => {
    const owner = randomUUID();
    const token = await devToken(embedded.dataDir, '--sub', owner);
    const created = await embedded.app.inject({
      method: 'POST',
      url: '/v1/devices',
      headers: { authorization: bearer(token) },
      payload: { name: 'dev-pi' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json<{ device: { customerId: string } }>().device.customerId).toBe(owner);

    const stranger = await devToken(embedded.dataDir, '--sub', randomUUID());
    const admin = await devToken(embedded.dataDir, '--sub', randomUUID(), '--admin');
    const listFor = async (bearerToken: string) =>
      (
        await embedded.app.inject({
          method: 'GET',
          url: '/v1/devices',
          headers: { authorization: bearer(bearerToken) },
        })
      ).json<{ items: unknown[] }>().items.length;
    expect(await listFor(stranger)).toBe(0);
    expect(await listFor(admin)).toBe(1);
  });

  it('answers 503, not 401, when the JWKS of the configured project cannot be fetched', async () => {
    const unreachable = 'http://127.0.0.1:9';
    const withoutAuthServer = await startInProcessApp({
      env: { LOG_LEVEL: 'silent', SUPABASE_URL: unreachable },
    });
    try {
      const { privateKey } = await generateKeyPair('ES256');
      const token = await new SignJWT({
        role: 'authenticated',
        session_id: randomUUID(),
      })
        .setProtectedHeader({ alg: 'ES256', kid: randomUUID() })
        .setIssuer(`${unreachable}/auth/v1`)
        .setAudience('authenticated')
        .setSubject(randomUUID())
        .setExpirationTime('5m')
        .sign(privateKey);
      const response = await withoutAuthServer.app.inject({
        method: 'GET',
        url: '/v1/devices',
        headers: { authorization: bearer(token) },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ code: 'dependency_unavailable' });
    } finally {
      await withoutAuthServer.close();
    }
  });

  it('refuses a development token minted for another DATA_DIR', async () => {
    const foreign = await devToken(makeDataDir(), '--sub', randomUUID());
    const response = await embedded.app.inject({
      method: 'GET',
      url: '/v1/devices',
      headers: { authorization: bearer(foreign) },
    });
    expect(response.statusCode).toBe(401);
  });
});

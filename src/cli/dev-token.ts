/**
 * `npm run dev:token -- --sub <uuid> [--admin] [--ttl <seconds>]`: prints a customer access token that
 * only an embedded gateway using the same DATA_DIR accepts (PRODUCT §8). Signed like Supabase signs its
 * tokens, with the development key the embedded gateway keeps in DATA_DIR/secrets.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { importJWK, SignJWT } from 'jose';
import { EMBEDDED_KEY_ID, EMBEDDED_TOKEN_ISSUER, loadOrCreateDevSigningKey } from '../auth/auth-secrets';
import { DataBackend } from '../config/app-config';
import { loadConfigFromEnvironment } from '../config/environment';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      admin: { type: 'boolean', default: false },
      ttl: { type: 'string', default: '3600' },
      email: { type: 'string' },
    },
  });
  const sub = values.sub ?? randomUUID();
  if (!UUID.test(sub)) throw new Error('--sub must be a UUID');
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0) throw new Error('--ttl must be a positive number of seconds');
  const config = loadConfigFromEnvironment();
  if (config.DATA_BACKEND !== DataBackend.Embedded) {
    throw new Error('Development tokens are for the embedded mode only; use Supabase Auth tokens otherwise');
  }
  const key = await loadOrCreateDevSigningKey(config.DATA_DIR);
  const token = await new SignJWT({
    role: 'authenticated',
    session_id: randomUUID(),
    email: values.email ?? `${sub.slice(0, 8)}@example.test`,
    app_metadata: { provider: 'email', ...(values.admin ? { role: 'admin' } : {}) },
    user_metadata: {},
  })
    .setProtectedHeader({ alg: 'ES256', kid: EMBEDDED_KEY_ID, typ: 'JWT' })
    .setIssuer(EMBEDDED_TOKEN_ISSUER)
    .setAudience('authenticated')
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(`${ttl}s`)
    .sign(await importJWK(key.privateJwk, 'ES256'));
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

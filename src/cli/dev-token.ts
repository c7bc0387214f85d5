/**
 * `npm run dev:token -- --sub <uuid> [--admin] [--ttl <seconds>] [--email <address>]`: prints a customer
 * access token that only an embedded gateway using the same DATA_DIR accepts (PRODUCT §8).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createDevToken } from '../auth/dev-token';
import { DataBackend } from '../config/app-config';
import { loadConfigFromEnvironment } from '../config/environment';
import { isUuid } from '../common/uuid';

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
  if (!isUuid(sub)) throw new Error('--sub must be a UUID');
  const ttlSec = Number(values.ttl);
  if (!Number.isInteger(ttlSec) || ttlSec <= 0) throw new Error('--ttl must be a positive number of seconds');
  const config = loadConfigFromEnvironment();
  if (config.DATA_BACKEND !== DataBackend.Embedded) {
    throw new Error('Development tokens are for the embedded mode only; use Supabase Auth tokens otherwise');
  }
  const token = await createDevToken(config.DATA_DIR, {
    sub,
    admin: values.admin,
    ttlSec,
    email: values.email,
  });
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

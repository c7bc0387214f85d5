/**
 * `npm run dev:token`: prints a customer access token for trying the gateway where no Supabase Auth issues
 * them. See USAGE.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { runCli } from './run-cli';
import { createDevToken, createSecretSignedToken } from '../auth/dev-token';
import { DataBackend } from '../config/app-config';
import { loadConfigFromEnvironment } from '../config/environment';
import { isUuid } from '../common/uuid';

const USAGE = `Usage: npm run dev:token -- [--sub <uuid>] [--admin] [--ttl <seconds>] [--email <address>]

Prints a customer access token, read from the same environment as the gateway's:
  - embedded mode (nothing configured): signed with the development key in DATA_DIR, accepted only by an
    embedded gateway on that DATA_DIR;
  - otherwise, with SUPABASE_JWT_SECRET set: signed HS256 with that secret and issued by
    <SUPABASE_URL>/auth/v1, accepted by every gateway configured with the same two variables (a local
    postgres + redis cluster). A real Supabase project's users get their tokens from Supabase Auth.

  --sub <uuid>      the customer (auth.users id); a new one when omitted
  --admin           an admin, who reads every customer's devices and sessions
  --ttl <seconds>   lifetime, default 3600
  --email <address> the token's email claim
  -h, --help        this text`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      admin: { type: 'boolean', default: false },
      ttl: { type: 'string', default: '3600' },
      email: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const sub = values.sub ?? randomUUID();
  if (!isUuid(sub)) throw new Error('--sub must be a UUID');
  const ttlSec = Number(values.ttl);
  if (!Number.isInteger(ttlSec) || ttlSec <= 0) throw new Error('--ttl must be a positive number of seconds');
  const options = { sub, admin: values.admin, ttlSec, email: values.email };
  const config = loadConfigFromEnvironment();
  let token: string;
  if (config.DATA_BACKEND === DataBackend.Embedded) {
    token = await createDevToken(config.DATA_DIR, options);
  } else if (config.SUPABASE_URL !== undefined && config.SUPABASE_JWT_SECRET !== undefined) {
    token = await createSecretSignedToken(
      { supabaseUrl: config.SUPABASE_URL, jwtSecret: config.SUPABASE_JWT_SECRET },
      options,
    );
  } else {
    throw new Error(
      'Outside the embedded mode, tokens are signed with SUPABASE_JWT_SECRET: set it (and SUPABASE_URL) as the gateway has them, or get tokens from Supabase Auth',
    );
  }
  process.stdout.write(`${token}\n`);
}

runCli(USAGE, main);

import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AuthFailure } from './auth.errors';
import { type ServicePrincipal } from './principal';

interface NamedDigest {
  name: string;
  digest: Buffer;
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Backend services present `Bearer <key>`. Keys are compared as SHA-256 digests (equal length, so
 * timingSafeEqual applies) and every configured key is compared, so timing says nothing about which
 * key or how much of it matched.
 */
@Injectable()
export class ServiceKeyVerifier {
  private readonly keys: NamedDigest[];

  constructor(config: AppConfig) {
    this.keys = (config.SERVICE_KEYS ?? '')
      .split(',')
      .filter((entry) => entry !== '')
      .map((entry) => {
        const separator = entry.indexOf(':');
        return { name: entry.slice(0, separator), digest: sha256(entry.slice(separator + 1)) };
      });
  }

  verify(key: string): ServicePrincipal | AuthFailure {
    const presented = sha256(key);
    let matched: string | undefined;
    for (const { name, digest } of this.keys) {
      if (timingSafeEqual(presented, digest) && matched === undefined) matched = name;
    }
    return matched === undefined
      ? new AuthFailure('bad_token', 'unknown service key')
      : { kind: 'service', name: matched };
  }
}

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { nullable, object, string, timestamp } from '../common/docs/typed-schema';
import { AppConfig } from '../config/app-config';

export interface VersionInfo {
  name: string;
  version: string;
  commit: string;
  builtAt: string | null;
  node: string;
}

export const VERSION_SCHEMA = object<VersionInfo>({
  name: string(),
  version: string(),
  commit: string({ description: '`unknown` when the build did not record it' }),
  builtAt: nullable(timestamp()),
  node: string({ examples: ['v20.19.0'] }),
});

interface BuildInfo {
  commit?: string;
  builtAt?: string;
}

/** package.json sits two levels above this file both in src/ and in dist/. */
const PACKAGE_JSON = join(__dirname, '..', '..', 'package.json');
/** Written by `npm run build` next to the compiled code. */
const BUILD_INFO = join(__dirname, '..', 'build-info.json');

@Injectable()
export class VersionService {
  readonly info: VersionInfo;

  constructor(config: AppConfig) {
    const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { name: string; version: string };
    const build: BuildInfo = existsSync(BUILD_INFO)
      ? (JSON.parse(readFileSync(BUILD_INFO, 'utf8')) as BuildInfo)
      : {};
    this.info = {
      name: pkg.name,
      version: pkg.version,
      commit: config.BUILD_COMMIT ?? build.commit ?? 'unknown',
      builtAt: build.builtAt ?? null,
      node: process.version,
    };
  }
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Type } from '@nestjs/common';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/app-config';
import { CapturedLogs } from './captured-logs';

export interface InProcessApp {
  app: NestFastifyApplication;
  logs: CapturedLogs;
  dataDir: string;
  /** Closes the app, then removes its data directory unless the caller supplied it. */
  close(): Promise<void>;
}

export interface InProcessAppOptions {
  /** Environment variables as an operator would set them; validated by the real loadConfig. */
  env?: Record<string, string>;
  extraModules?: Type[];
  /** Reuse a data directory (to restart on the same data); a fresh temporary one otherwise. */
  dataDir?: string;
}

export function makeDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'gateway-test-'));
}

/**
 * The production app (createApp) in this jest process, configured through loadConfig and logging into
 * memory. Embedded data goes to a temporary DATA_DIR so test files never share state.
 */
export async function startInProcessApp({
  env = {},
  extraModules = [],
  dataDir,
}: InProcessAppOptions = {}): Promise<InProcessApp> {
  const directory = dataDir ?? makeDataDir();
  const logs = new CapturedLogs();
  const config = loadConfig({ DATA_DIR: directory, ...env });
  const app = await createApp({ config, logDestination: logs, extraModules });
  return {
    app,
    logs,
    dataDir: directory,
    close: async () => {
      await app.close();
      if (dataDir === undefined) rmSync(directory, { recursive: true, force: true });
    },
  };
}

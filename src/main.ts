import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { type AppConfig, ConfigValidationError, DataBackend } from './config/app-config';
import { loadConfigFromEnvironment, unknownVariablesInEnvironment } from './config/environment';
import { installGracefulShutdown } from './common/lifecycle/graceful-shutdown';
import { describeRunningMode } from './config/running-mode';
import { DataDirLock, DataDirLockError } from './infra/database/data-dir-lock';

function readConfig(): AppConfig {
  try {
    return loadConfigFromEnvironment();
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * One process per data folder: taken before anything reads or writes DATA_DIR (its secrets included),
 * and held until the process ends.
 */
function lockDataDir(config: AppConfig): void {
  if (config.DATA_BACKEND !== DataBackend.Embedded) return;
  try {
    DataDirLock.acquire(config.DATA_DIR);
  } catch (error) {
    if (error instanceof DataDirLockError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * A promise nobody awaited is a bug to log, not a reason to drop every connection; an uncaught exception
 * leaves the process in an unknown state, so it is logged and the process exits for the orchestrator
 * to restart it.
 */
function reportUnhandledFailures(): void {
  const logger = new Logger('Process');
  process.on('unhandledRejection', (reason: unknown) => {
    logger.error({ err: reason }, 'Unhandled promise rejection');
  });
  process.on('uncaughtException', (error: Error) => {
    logger.fatal({ err: error }, 'Uncaught exception; exiting');
    process.exit(1);
  });
}

async function bootstrap(): Promise<void> {
  const config = readConfig();
  lockDataDir(config);
  reportUnhandledFailures();
  const app = await createApp({ config });
  const configLogger = new Logger('Config');
  for (const { name, nearest } of unknownVariablesInEnvironment()) {
    configLogger.warn(
      `${name} is not a variable the gateway reads, so it is ignored; did you mean ${nearest}?`,
    );
  }
  installGracefulShutdown(app, config);
  await app.listen({ port: config.PORT, host: config.HOST });
  new Logger('Gateway').log(
    `Listening on http://${config.HOST}:${config.PORT}; ${describeRunningMode(config)}`,
  );
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(
    `The gateway failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

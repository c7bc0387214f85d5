/**
 * What src/main.ts does, plus the test-only slow route. Run in a child process by the shutdown test
 * (`node -r ts-node/register/transpile-only test/support/slow-gateway.ts`) so it can receive SIGTERM and
 * exit on its own, exactly as the production entry point does.
 */
import 'reflect-metadata';
import { createApp } from '../../src/app.factory';
import { installGracefulShutdown } from '../../src/common/lifecycle/graceful-shutdown';
import { DataBackend, loadConfig } from '../../src/config/app-config';
import { DataDirLock } from '../../src/infra/database/data-dir-lock';
import { SlowRouteModule } from './slow-route.module';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  if (config.DATA_BACKEND === DataBackend.Embedded) DataDirLock.acquire(config.DATA_DIR);
  const app = await createApp({ config, extraModules: [SlowRouteModule] });
  installGracefulShutdown(app, config);
  await app.listen({ port: config.PORT, host: config.HOST });
  app.getHttpAdapter().getInstance().log.info(`slow gateway listening on ${config.HOST}:${config.PORT}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`slow gateway failed to start: ${String(error)}\n`);
  process.exit(1);
});

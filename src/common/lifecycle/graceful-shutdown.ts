import { type Server } from 'node:http';
import { type INestApplication, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AppConfig } from '../../config/app-config';
import { destroyOpenConnections } from '../http/connection-limits';
import { ShutdownState } from './shutdown-state';

/**
 * Time kept after the connections are cut for the rest of the shutdown (clients, database): this much,
 * or half the grace period when that is shorter.
 */
const SHUTDOWN_TAIL_MS = 2000;

function abortDelayMs(graceMs: number): number {
  return graceMs - Math.min(SHUTDOWN_TAIL_MS, Math.floor(graceMs / 2));
}

/**
 * SIGTERM/SIGINT: readiness turns 503, then (after the drain delay) the listener closes, in-flight
 * requests finish, clients close, and the process exits 0. Connections still open near the end of the
 * grace period are cut; past it the process exits 1.
 * Nest's enableShutdownHooks is not used: it re-raises the signal, so the exit code is never 0.
 */
export function installGracefulShutdown(app: INestApplication, config: AppConfig): void {
  const logger = new Logger('Shutdown');
  let stopping = false;

  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const deadline = setTimeout(() => {
      logger.error(`Shutdown took longer than ${config.SHUTDOWN_GRACE_MS} ms; exiting anyway`);
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS);
    deadline.unref();
    // A client that stopped sending mid-request would hold the close until its request timeout: what is
    // still open near the end of the grace is cut, so the shutdown completes (and exits 0) in time.
    const abort = setTimeout(() => {
      const count = destroyOpenConnections(app.getHttpServer() as Server);
      logger.warn(`Grace period nearly over: closed the ${count} connections still open`);
    }, abortDelayMs(config.SHUTDOWN_GRACE_MS));
    abort.unref();

    logger.log(`${signal} received: no longer ready; finishing in-flight work`);
    app.get(ShutdownState).begin();
    if (config.SHUTDOWN_DRAIN_DELAY_MS > 0) await sleep(config.SHUTDOWN_DRAIN_DELAY_MS);
    try {
      await app.close();
      logger.log('Stopped cleanly');
      process.exit(0);
    } catch (error) {
      logger.error(`Shutdown failed: ${String(error)}`);
      process.exit(1);
    }
  };

  // `on`, not `once`: a second signal must not fall back to the default action, which kills the process
  // mid-shutdown. Ctrl-C under `npm start` sends two SIGINTs: the terminal's, and the one npm forwards.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => void stop(signal));
  }
}

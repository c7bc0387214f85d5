import { Injectable, Logger, Module } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { storageAdapter } from '../../../infra/adapters';
import { type CommandRecord } from '../command';
import { CommandRepository } from '../command.repository';
import { isFinalStatus, OPEN_COMMAND_STATUSES } from '../command-lifecycle';
import { SqlCommandRepository } from '../storage/sql-command.repository';
import { SupabaseCommandRepository } from '../storage/supabase-command.repository';
import { CommandDelivery } from './command-delivery';

/** How often `settled` reads the command again while it waits. */
const SETTLED_POLL_MS = 100;

/**
 * A provisional CommandDelivery made of the repository alone, so that the customer API of commands runs
 * before the delivery engine (issue 11 items 5-8) lands; the engine's CommandDeliveryModule replaces this
 * file. It delivers nothing: a submitted command waits `queued`, which is what the engine does for a
 * device that is not connected. Cancelling is the engine's same conditional transition, without telling
 * the device (nothing was ever sent to one) and without `command:updated`; the commands it cancels are
 * the final transitions it tells its onFinal listeners of.
 */
@Injectable()
export class RepositoryOnlyDelivery extends CommandDelivery {
  private readonly logger = new Logger(RepositoryOnlyDelivery.name);
  private readonly finalListeners = new Set<(command: CommandRecord) => Promise<void>>();

  constructor(private readonly commands: CommandRepository) {
    super();
  }

  onFinal(listener: (command: CommandRecord) => Promise<void>): () => void {
    this.finalListeners.add(listener);
    return () => this.finalListeners.delete(listener);
  }

  submit(): Promise<void> {
    return Promise.resolve();
  }

  async cancel(commandId: string): Promise<CommandRecord | null> {
    const cancelled = await this.commands.transition(commandId, OPEN_COMMAND_STATUSES, {
      status: 'cancelled',
    });
    if (cancelled) {
      for (const listener of this.finalListeners) {
        await listener(cancelled).catch((error: unknown) => {
          this.logger.warn(`A listener to the end of command ${cancelled.id} failed: ${String(error)}`);
        });
      }
    }
    return cancelled;
  }

  async settled(commandId: string, waitMs: number): Promise<CommandRecord | null> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const command = await this.commands.findById(commandId);
      const left = deadline - Date.now();
      if (!command || isFinalStatus(command.status) || left <= 0) return command;
      await sleep(Math.min(SETTLED_POLL_MS, left));
    }
  }
}

/** Binds CommandDelivery for the sessions feature (SessionsModule imports it). */
@Module({
  providers: [
    storageAdapter(CommandRepository, { sql: SqlCommandRepository, supabase: SupabaseCommandRepository }),
    { provide: CommandDelivery, useClass: RepositoryOnlyDelivery },
  ],
  exports: [CommandDelivery],
})
export class CommandDeliveryModule {}

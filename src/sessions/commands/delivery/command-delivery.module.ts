import { Injectable, Module } from '@nestjs/common';
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
 * the device (nothing was ever sent to one) and without `command:updated`.
 */
@Injectable()
export class RepositoryOnlyDelivery extends CommandDelivery {
  constructor(private readonly commands: CommandRepository) {
    super();
  }

  submit(): Promise<void> {
    return Promise.resolve();
  }

  cancel(commandId: string): Promise<CommandRecord | null> {
    return this.commands.transition(commandId, OPEN_COMMAND_STATUSES, { status: 'cancelled' });
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

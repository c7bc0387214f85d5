import { Injectable, Logger } from '@nestjs/common';
import { object, uuid } from '../../../common/docs/typed-schema';
import { RealtimeService } from '../../../realtime/realtime.service';
import { serverEvent } from '../../../realtime/realtime.events';
import { type CommandRecord } from '../command';
import { isFinalStatus, OPEN_COMMAND_STATUSES } from '../command-lifecycle';
import { CommandRepository } from '../command.repository';
import { CommandDelivery, type CommandWatch } from './command-delivery';
import { CommandTransitions } from './command-transitions.service';
import { DeviceWorkSignal } from './device-work.signal';

/** Server → agent (docs/guide.md#socketio): stop a command that may already be on the device. */
export const COMMAND_CANCEL_EVENT = serverEvent<{ commandId: string }>('command:cancel', {
  namespaces: ['/agent'],
  summary: 'Stop a command that may already be on the device: it was cancelled; its results are refused.',
  payload: object<{ commandId: string }>({ commandId: uuid() }),
});

/** The delivery engine behind CommandDelivery: transitions, clocks and routing (see the module). */
@Injectable()
export class EngineCommandDelivery extends CommandDelivery {
  private readonly logger = new Logger(EngineCommandDelivery.name);
  /** The watches of this instance, by command. */
  private readonly watches = new Map<string, Set<Watch>>();

  constructor(
    private readonly commands: CommandRepository,
    private readonly transitions: CommandTransitions,
    private readonly realtime: RealtimeService,
    work: DeviceWorkSignal,
  ) {
    super();
    // Ended here: the record is at hand. Ended elsewhere: the signal names the command.
    transitions.onFinal((command) => {
      this.heard(command);
      return Promise.resolve();
    });
    work.listen(({ ended }) => {
      if (ended !== undefined && this.watches.has(ended)) void this.look(ended);
    });
  }

  async submit(command: CommandRecord, queued?: number): Promise<void> {
    await this.transitions.submitted(command, queued);
  }

  async cancel(commandId: string): Promise<CommandRecord | null> {
    for (;;) {
      const current = await this.commands.findById(commandId);
      if (!current || isFinalStatus(current.status)) return null;
      const cancelled = await this.transitions.apply(commandId, OPEN_COMMAND_STATUSES, {
        status: 'cancelled',
      });
      if (!cancelled) continue;
      // Sent at least once, it may be on the device, even when it was queued again (its ack timed out)
      // or claimed between the read above and the cancel.
      if (cancelled.sentAt !== null) {
        this.realtime.toAgent(cancelled.deviceId, COMMAND_CANCEL_EVENT, { commandId });
      }
      return cancelled;
    }
  }

  onFinal(listener: (command: CommandRecord) => Promise<void>): () => void {
    return this.transitions.onFinal(listener);
  }

  watch(commandId: string): CommandWatch {
    const watch = new Watch(commandId, this.commands, () => {
      this.watches.get(commandId)?.delete(watch);
      if (this.watches.get(commandId)?.size === 0) this.watches.delete(commandId);
    });
    let watching = this.watches.get(commandId);
    if (!watching) {
      watching = new Set();
      this.watches.set(commandId, watching);
    }
    watching.add(watch);
    return watch;
  }

  private heard(command: CommandRecord): void {
    for (const watch of this.watches.get(command.id) ?? []) watch.ended(command);
  }

  /** A command of a watch ended on another instance: one read, for the final record. */
  private async look(commandId: string): Promise<void> {
    try {
      const command = await this.commands.findById(commandId);
      if (command && isFinalStatus(command.status)) this.heard(command);
    } catch (error) {
      // The watch reads again when its time runs out.
      this.logger.warn(`Could not read command ${commandId} after it ended: ${String(error)}`);
    }
  }
}

/** One caller waiting for a command to end. */
class Watch implements CommandWatch {
  private final: CommandRecord | null = null;
  private wake: (() => void) | undefined;

  constructor(
    private readonly commandId: string,
    private readonly commands: CommandRepository,
    readonly stop: () => void,
  ) {}

  ended(command: CommandRecord): void {
    this.final = command;
    this.wake?.();
  }

  async settled(waitMs: number, { readFirst }: { readFirst: boolean }): Promise<CommandRecord | null> {
    try {
      if (readFirst) {
        const now = await this.commands.findById(this.commandId);
        if (!now || isFinalStatus(now.status)) return now;
      }
      if (!this.final && waitMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return this.final ?? (await this.commands.findById(this.commandId));
    } finally {
      this.stop();
    }
  }
}

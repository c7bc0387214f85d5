import { Injectable, Logger } from '@nestjs/common';
import { Announcements } from '../../../common/lifecycle/announcements';
import { AppConfig } from '../../../config/app-config';
import { DevicesService } from '../../../devices/devices.service';
import { watchersOf } from '../../../devices/devices.events';
import { MetricsService } from '../../../infra/metrics/metrics.service';
import { RealtimeService } from '../../../realtime/realtime.service';
import { COMMAND_UPDATED } from '../../sessions.events';
import { type CommandChange, type CommandRecord, type CommandStatus } from '../command';
import { isFinalStatus } from '../command-lifecycle';
import { CommandRepository } from '../command.repository';
import { toCommandResponse } from '../dto/command.response';
import { CommandClockStore } from './command-clock.store';
import { type ClockSettings, deadlineOf } from './command-clocks';
import { DeviceWorkSignal } from './device-work.signal';

/**
 * The one place where commands change status. Each transition is one conditional update in the database
 * (CommandRepository.transition or claimQueued); only its winner then re-arms or clears the command's
 * clock, counts it, tells the device's queue count to presence, signals the device's work, and emits
 * `command:updated` (the full Command) to the portals watching the device. The loser does nothing.
 */
@Injectable()
export class CommandTransitions {
  private readonly logger = new Logger(CommandTransitions.name);
  private readonly finals = new Announcements<CommandRecord>(
    this.logger,
    (command) => `the end of command ${command.id}`,
  );
  readonly clockSettings: ClockSettings;
  /** Set when a clock could not be written; the sweeper takes it (takeRebuildRequest). */
  private clocksNeedRebuild = false;

  constructor(
    config: AppConfig,
    private readonly commands: CommandRepository,
    private readonly clocks: CommandClockStore,
    private readonly metrics: MetricsService,
    private readonly realtime: RealtimeService,
    private readonly devices: DevicesService,
    private readonly work: DeviceWorkSignal,
  ) {
    this.clockSettings = {
      ackTimeoutMs: config.COMMAND_ACK_TIMEOUT_SEC * 1000,
      maxAttempts: config.COMMAND_MAX_ATTEMPTS,
    };
  }

  /** Whether a clock write failed since the last call: the clocks must then be rebuilt. */
  takeRebuildRequest(): boolean {
    const wanted = this.clocksNeedRebuild;
    this.clocksNeedRebuild = false;
    return wanted;
  }

  /** See CommandDelivery.onFinal: heard on the instance whose transition made the command final. */
  onFinal(listener: (command: CommandRecord) => Promise<void>): () => void {
    return this.finals.listen(listener);
  }

  /**
   * A command just created: its clock, its device's queue count (`queued`, when its creation counted
   * it, saves counting again), its first event, and its device's work.
   */
  async submitted(command: CommandRecord, queued?: number): Promise<void> {
    await this.settle(command, { queueChanged: true, queued });
  }

  /** The command as it now is, or null when it was in none of `from` (another caller won). */
  async apply(
    id: string,
    from: readonly CommandStatus[],
    change: CommandChange,
  ): Promise<CommandRecord | null> {
    const command = await this.commands.transition(id, from, change);
    if (!command) return null;
    if (command.status === 'queued') this.metrics.countCommandRedelivery(command.type);
    await this.settle(command, { queueChanged: command.status === 'queued' || from.includes('queued') });
    return command;
  }

  /**
   * Sends a device's oldest queued commands into its free slots; they are `sent` when returned, their
   * clocks armed. `queued` is how many of its commands still wait once some were claimed (null when none
   * were, or the count failed), counted while the caller hands the claimed ones over.
   */
  async claim(
    deviceId: string,
    maxInFlight: number,
  ): Promise<{ claimed: CommandRecord[]; queued: Promise<number | null> }> {
    const claimed = await this.commands.claimQueued(deviceId, maxInFlight);
    for (const command of claimed) await this.settle(command, { queueChanged: false });
    const queued = claimed.length > 0 ? this.recountQueue(deviceId) : Promise.resolve(null);
    return { claimed, queued };
  }

  /**
   * Tells presence how many of the device's commands wait, for its heartbeats' pendingCommands, counted
   * now unless `known`; returns the count, or null when it could not be counted or told.
   */
  async recountQueue(deviceId: string, known?: number): Promise<number | null> {
    try {
      const queued = known ?? (await this.commands.countQueued(deviceId));
      await this.devices.recordPendingCommands(deviceId, queued);
      return queued;
    } catch (error) {
      this.logger.warn(`Could not count the queue of device ${deviceId}: ${String(error)}`);
      return null;
    }
  }

  /** The clock a command's status calls for, from its revision: armed, or cleared once it is final. */
  async rearm(command: CommandRecord): Promise<void> {
    const at = deadlineOf(command, this.clockSettings, Date.now());
    if (at === null) await this.clocks.clear(command.id, command.revision);
    else
      await this.clocks.arm([
        { commandId: command.id, at, revision: command.revision, queued: command.status === 'queued' },
      ]);
  }

  private async settle(
    command: CommandRecord,
    { queueChanged, queued }: { queueChanged: boolean; queued?: number },
  ): Promise<void> {
    this.realtime.toPortal(
      watchersOf({ id: command.deviceId, customerId: command.customerId }),
      COMMAND_UPDATED,
      toCommandResponse(command),
    );
    const final = isFinalStatus(command.status);
    if (final) {
      const seconds =
        ((command.finishedAt ?? command.updatedAt).getTime() - command.createdAt.getTime()) / 1000;
      this.metrics.countCommandFinished(command.type, command.status, Math.max(seconds, 0));
    }
    try {
      await this.rearm(command);
    } catch (error) {
      // The database holds the truth: the sweeper rebuilds the clocks from it at its next sweep.
      this.clocksNeedRebuild = true;
      this.logger.warn(`Could not set the clock of command ${command.id}: ${String(error)}`);
    }
    if (queueChanged) await this.recountQueue(command.deviceId, queued);
    if (final) this.work.announce({ deviceId: command.deviceId, ended: command.id });
    else if (command.status === 'queued') this.work.announce({ deviceId: command.deviceId });
    if (final) await this.finals.announce(command);
  }
}

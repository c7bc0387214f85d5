import { randomUUID } from 'node:crypto';
import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { MetricsService } from '../../../infra/metrics/metrics.service';
import { type CommandRecord } from '../command';
import { CommandRepository } from '../command.repository';
import { type CommandClock, CommandClockStore } from './command-clock.store';
import { deadlineOf, dueTransition } from './command-clocks';
import { CommandTransitions } from './command-transitions.service';
import { DeviceWorkSignal } from './device-work.signal';

/** Clocks handled per sweep; a backlog is worked off over the next sweeps. */
const SWEEP_BATCH = 200;
/** Commands read from the database per step when the clocks are rebuilt. */
const REBUILD_BATCH = 500;
/**
 * Every instance also rebuilds this often: a command committed by an instance that died before it wrote
 * the clock has none, and no loss of the cache announces it.
 */
const RECONCILE_INTERVAL_MS = 5 * 60_000;

/**
 * Fires the command clocks (docs/guide.md#the-command-lifecycle-and-its-clocks): every instance sweeps the shared deadlines; a due one is claimed
 * with a lease (its time pushed forward, not removed), the command is read from the database and what
 * its status calls for is applied through CommandTransitions, whose winner re-arms or clears the clock.
 * An instance that dies mid-way leaves the claimed clocks to fire again once their lease lapses.
 *
 * The store can lose its clocks (memory with each restart; Redis with a restart or a flush): every
 * sweep asks it whether it is whole, and one instance at a time rebuilds it from the commands the
 * database holds as not final. Every instance also rebuilds at start-up and when the cache comes back
 * from an outage (clocks armed meanwhile may have been lost); arming is idempotent, so a command is
 * never stuck.
 */
@Injectable()
export class CommandClockSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(CommandClockSweeper.name);
  private readonly instanceId = randomUUID();
  private readonly leaseMs: number;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private rebuildWanted = true;
  private lastRebuildAt = 0;
  private stopping = false;
  private failing = false;

  constructor(
    private readonly config: AppConfig,
    private readonly commands: CommandRepository,
    private readonly clocks: CommandClockStore,
    private readonly transitions: CommandTransitions,
    private readonly work: DeviceWorkSignal,
    metrics: MetricsService,
  ) {
    // Long enough for one command's read and transition, each bounded by the database timeout.
    this.leaseMs = config.DATABASE_TIMEOUT_MS * 3;
    metrics.measureCommandQueueDepth(() => this.clocks.countQueued());
  }

  onApplicationBootstrap(): void {
    // Clocks armed while the cache was away are lost; the store may also have restarted in between.
    this.work.onResumed(() => {
      this.rebuildWanted = true;
    });
    this.startSweep();
    this.timer = setInterval(() => {
      this.startSweep();
    }, this.config.COMMAND_SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  /** Before the connections close: a sweep in flight finishes with the database and cache it started on. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** Rebuilds the clocks when due or lost, then fires those that passed; public for tests. */
  async sweep(now: number): Promise<void> {
    await this.recoverIfNeeded().then(
      () => {
        this.failing = false;
      },
      (error: unknown) => {
        if (!this.failing)
          this.logger.warn(`Could not check or rebuild the command clocks: ${String(error)}`);
        this.failing = true;
      },
    );
    const due = await this.clocks.claimDue(now, this.leaseMs, SWEEP_BATCH);
    await Promise.all(
      due.map((id) =>
        this.fire(id, now).catch((error: unknown) => {
          // The lease lapses and the clock fires again.
          this.logger.warn(`Could not fire the clock of command ${id}: ${String(error)}`);
        }),
      ),
    );
  }

  private startSweep(): void {
    if (this.stopping) return;
    this.sweeping ??= this.sweep(Date.now())
      .catch((error: unknown) => {
        if (!this.failing) this.logger.warn(`Command clock sweep failed: ${String(error)}`);
      })
      .finally(() => {
        this.sweeping = undefined;
      });
  }

  private async fire(id: string, now: number): Promise<void> {
    for (let round = 0; round < 3; round += 1) {
      const command = await this.commands.findById(id);
      if (!command) {
        await this.clocks.clear(id, Number.MAX_SAFE_INTEGER);
        return;
      }
      const due = dueTransition(command, now, this.transitions.clockSettings);
      if (!due) {
        // A queued command's look-again time: its device may be connected here or anywhere.
        if (command.status === 'queued') this.work.announce({ deviceId: command.deviceId });
        // Not due (its status moved on) or final: the clock its revision calls for.
        await this.transitions.rearm(command);
        return;
      }
      const changed = await this.transitions.apply(id, [due.from], due.change);
      if (changed) return;
      // Another caller moved it first: look again at what it is now.
    }
  }

  /** At start-up, after an outage, or when the store says it lost its clocks. */
  private async recoverIfNeeded(): Promise<void> {
    if (this.transitions.takeRebuildRequest() || Date.now() - this.lastRebuildAt >= RECONCILE_INTERVAL_MS) {
      this.rebuildWanted = true;
    }
    const recovery = await this.clocks.checkRecovery(this.instanceId, this.leaseMs);
    if (recovery.state === 'busy') return;
    if (recovery.state === 'intact' && !this.rebuildWanted) return;
    this.rebuildWanted = false;
    try {
      this.lastRebuildAt = Date.now();
      const rebuilt = await this.rebuild();
      if (recovery.state === 'claimed') await this.clocks.completeRecovery(this.instanceId, randomUUID());
      if (rebuilt > 0) this.logger.log(`Armed the clocks of ${rebuilt} command(s) that are not final`);
    } catch (error) {
      this.rebuildWanted = true;
      throw error;
    }
  }

  /** Arms the clock of every command that is not final, from the database; returns how many. */
  private async rebuild(): Promise<number> {
    let afterId: string | undefined;
    let armed = 0;
    const devices = new Set<string>();
    for (;;) {
      const page: CommandRecord[] = await this.commands.listNotFinal({ afterId, limit: REBUILD_BATCH });
      const clocks: CommandClock[] = page.flatMap((command) => {
        const at = deadlineOf(command, this.transitions.clockSettings, Date.now());
        if (command.status === 'queued') devices.add(command.deviceId);
        return at === null
          ? []
          : [{ commandId: command.id, at, revision: command.revision, queued: command.status === 'queued' }];
      });
      await this.clocks.arm(clocks);
      armed += clocks.length;
      if (page.length < REBUILD_BATCH) break;
      afterId = page.at(-1)?.id;
    }
    // Queue counts lived in the same store; and a device waiting for these may be connected anywhere.
    for (const deviceId of devices) {
      await this.transitions.recountQueue(deviceId);
      this.work.announce({ deviceId });
    }
    return armed;
  }
}

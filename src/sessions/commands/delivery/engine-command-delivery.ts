import { Injectable } from '@nestjs/common';
import { object, uuid } from '../../../common/docs/typed-schema';
import { RealtimeService } from '../../../realtime/realtime.service';
import { serverEvent } from '../../../realtime/realtime.events';
import { type CommandRecord } from '../command';
import { isFinalStatus, OPEN_COMMAND_STATUSES } from '../command-lifecycle';
import { CommandRepository } from '../command.repository';
import { CommandDelivery } from './command-delivery';
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
  constructor(
    private readonly commands: CommandRepository,
    private readonly transitions: CommandTransitions,
    private readonly realtime: RealtimeService,
    private readonly work: DeviceWorkSignal,
  ) {
    super();
  }

  async submit(command: CommandRecord): Promise<void> {
    await this.transitions.submitted(command);
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

  async settled(commandId: string, waitMs: number): Promise<CommandRecord | null> {
    const first = await this.commands.findById(commandId);
    if (!first || isFinalStatus(first.status) || waitMs <= 0) return first;
    const deadline = Date.now() + waitMs;
    // Every final transition, on any instance, signals its device's work: each signal is a look. The
    // wait starts before the read, so that a signal between the two is not missed.
    for (;;) {
      const signal = this.nextSignal(first.deviceId, deadline - Date.now());
      const current = await this.commands.findById(commandId);
      if (!current || isFinalStatus(current.status) || Date.now() >= deadline) {
        signal.cancel();
        return current;
      }
      if (!(await signal.arrived)) return this.commands.findById(commandId);
    }
  }

  /** Resolves true when the device's work is signalled within `ms`, false when the time runs out. */
  private nextSignal(deviceId: string, ms: number): { arrived: Promise<boolean>; cancel: () => void } {
    let settle: (arrived: boolean) => void = () => undefined;
    const arrived = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    const stop = this.work.listen((signalled) => {
      if (signalled === deviceId) finish(true);
    });
    const timer = setTimeout(
      () => {
        finish(false);
      },
      Math.max(ms, 0),
    );
    const finish = (value: boolean): void => {
      clearTimeout(timer);
      stop();
      settle(value);
    };
    return {
      arrived,
      cancel: () => {
        finish(false);
      },
    };
  }
}

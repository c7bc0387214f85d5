import { type BeforeApplicationShutdown, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { MetricsService } from '../../../infra/metrics/metrics.service';
import { type AgentConnection } from '../../../realtime/realtime-connections';
import { RealtimeHandlers } from '../../../realtime/realtime-handlers';
import { serverEvent } from '../../../realtime/realtime.events';
import { unstorableInput } from '../../../common/validation/storable-input';
import { type CommandRecord } from '../command';
import { boolean, object, optional, string } from '../../../common/docs/typed-schema';
import { COMMAND_SCHEMA, type CommandResponse, toCommandResponse } from '../dto/command.response';
import { CommandTransitions } from './command-transitions.service';
import { DeviceWorkSignal } from './device-work.signal';

/** Server → agent (docs/guide.md#socketio): a command to run; the agent acks `{ accepted, reason? }`. */
export const COMMAND_EVENT = serverEvent<CommandResponse>('command', {
  namespaces: ['/agent'],
  summary:
    'A command to run, oldest first, at least once (de-duplicate by id): ack `{ accepted: true }` to run ' +
    'it, `{ accepted: false, reason }` to refuse it; with no ack within COMMAND_ACK_TIMEOUT_SEC it is sent again.',
  payload: COMMAND_SCHEMA,
  ack: object<{ accepted: boolean; reason?: string }>({
    accepted: boolean(),
    reason: optional(string({ maxLength: 1000 })),
  }),
});

/** A command sent over a socket from this instance, and what its ack did. */
interface HandOver {
  /** Set when the agent's ack arrived (the transition it makes may still be on its way). */
  ackHeard: boolean;
  /** The command once the ack's transition is written; null when the ack changed nothing. */
  acked: Promise<CommandRecord | null>;
}

/** A long poll waiting for work on this instance. */
interface Waiter {
  /**
   * A delivery round is claiming commands for it: its timeout, its client going away and the shutdown
   * wait for the round, so that commands it claims are never handed to a poll that already answered.
   */
  claiming: boolean;
  /** How the poll ended while a round was claiming for it: null for its timeout, [] otherwise. */
  endedWhileClaiming?: CommandRecord[] | null;
  /** Answers the poll (null: its time ran out) and forgets the waiter. */
  finish: (commands: CommandRecord[] | null) => void;
  /** Its timeout, its client going away or the shutdown: waits for a claiming round to end. */
  end: (commands: CommandRecord[] | null) => void;
}

/**
 * Routing (issue 11 item 5): a command goes out from the instance that holds its device's `/agent`
 * socket or long poll, and from no other. This instance tracks its own agent connections (the newest
 * per device: a takeover replaces the older one, whose late close changes nothing here) and its long
 * polls; on a work signal, a connection or a long poll it claims the device's oldest queued commands
 * (claimQueued, bounded by COMMAND_MAX_IN_FLIGHT_PER_DEVICE) and hands them over. A device with neither
 * on this instance is never claimed for here, so an offline device's commands stay queued.
 */
@Injectable()
export class CommandRouter implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(CommandRouter.name);
  private readonly sockets = new Map<string, AgentConnection>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  /**
   * Devices with a socket here whose queue was empty after their last claim: when one of their commands
   * ends, the slot it frees has nothing to take, so no claim is made. Every command queued for a device
   * signals it without `ended` (created, put back after an ack timeout, looked at again by its clock),
   * which takes the device out of here.
   */
  private readonly drained = new Set<string>();
  /** By device, then command: what the sockets here were sent (see acked()). */
  private readonly handedOver = new Map<string, Map<string, HandOver>>();
  /** One delivery round per device at a time on this instance; a signal during one asks for another. */
  private readonly rounds = new Map<string, { again: boolean }>();
  private readonly cleanups: (() => unknown)[] = [];
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly handlers: RealtimeHandlers,
    private readonly transitions: CommandTransitions,
    private readonly work: DeviceWorkSignal,
    metrics: MetricsService,
  ) {
    metrics.measureWaitingPolls(() => {
      let waiting = 0;
      for (const waiters of this.waiters.values()) waiting += waiters.size;
      return waiting;
    });
  }

  onModuleInit(): void {
    this.cleanups.push(
      this.handlers.agent.onConnected((connection) => {
        this.sockets.set(connection.device.deviceId, connection);
        this.drained.delete(connection.device.deviceId);
        this.deliver(connection.device.deviceId);
      }),
      this.handlers.agent.onDisconnected((connection) => {
        const { deviceId } = connection.device;
        if (this.sockets.get(deviceId) !== connection) return;
        this.sockets.delete(deviceId);
        this.drained.delete(deviceId);
        this.handedOver.delete(deviceId);
      }),
      this.transitions.onFinal((command) => {
        this.forget(command);
        return Promise.resolve();
      }),
      // Signals sent while the bus was away are lost: every device held here looks at its queue again.
      this.work.onResumed(() => {
        this.drained.clear();
        for (const deviceId of this.localDevices()) this.deliver(deviceId);
      }),
      this.work.listen(({ deviceId, ended }) => {
        if (ended === undefined) this.drained.delete(deviceId);
        else if (this.drained.has(deviceId)) return;
        if (this.holds(deviceId)) this.deliver(deviceId);
      }),
    );
  }

  /** Before the HTTP server closes, which waits for open requests: long polls answer at once. */
  beforeApplicationShutdown(): void {
    this.stopping = true;
    for (const cleanup of this.cleanups) void cleanup();
    for (const waiters of this.waiters.values()) for (const waiter of [...waiters]) waiter.end([]);
  }

  /**
   * A long poll (GET /v1/agent/commands): the device's queued commands at once when there are any,
   * else the first that arrive within `waitMs`, else none. `aborted` ends the wait early (the client
   * went away); the app's shutdown ends it with none. The poll waits as soon as it starts, and a
   * delivery round claims for it, so that a command arriving meanwhile is not left for the next poll.
   */
  async poll(deviceId: string, waitMs: number, aborted: AbortSignal): Promise<CommandRecord[]> {
    if (waitMs <= 0 || this.stopping || aborted.aborted) return (await this.claimFor(deviceId)).claimed;
    const waited = await new Promise<CommandRecord[] | null>((resolve) => {
      let waiters = this.waiters.get(deviceId);
      if (!waiters) {
        waiters = new Set();
        this.waiters.set(deviceId, waiters);
      }
      const set = waiters;
      const waiter: Waiter = {
        claiming: false,
        finish: (commands) => {
          clearTimeout(timer);
          aborted.removeEventListener('abort', onAbort);
          set.delete(waiter);
          if (set.size === 0 && this.waiters.get(deviceId) === set) this.waiters.delete(deviceId);
          resolve(commands);
        },
        end: (commands) => {
          if (waiter.claiming) waiter.endedWhileClaiming = commands;
          else waiter.finish(commands);
        },
      };
      const onAbort = (): void => {
        waiter.end([]);
      };
      const timer = setTimeout(() => {
        waiter.end(null);
      }, waitMs);
      aborted.addEventListener('abort', onAbort);
      set.add(waiter);
      this.deliver(deviceId);
    });
    // The wait ran out: one more look, for a signal lost on the way.
    if (waited === null) return this.ended(aborted) ? [] : (await this.claimFor(deviceId)).claimed;
    return waited;
  }

  /** The app is stopping, or the long poll's client went away. */
  private ended(aborted: AbortSignal): boolean {
    return this.stopping || aborted.aborted;
  }

  /** Whether this instance holds the device's socket or one of its long polls. */
  private holds(deviceId: string): boolean {
    return this.sockets.has(deviceId) || (this.waiters.get(deviceId)?.size ?? 0) > 0;
  }

  private localDevices(): Set<string> {
    return new Set([...this.sockets.keys(), ...this.waiters.keys()]);
  }

  private claimFor(deviceId: string): Promise<{ claimed: CommandRecord[]; queued: Promise<number | null> }> {
    return this.transitions.claim(deviceId, this.config.COMMAND_MAX_IN_FLIGHT_PER_DEVICE);
  }

  /** Starts a delivery round for the device, or asks the running one to go again. */
  private deliver(deviceId: string): void {
    const running = this.rounds.get(deviceId);
    if (running) {
      running.again = true;
      return;
    }
    const round = { again: true };
    this.rounds.set(deviceId, round);
    void (async () => {
      try {
        while (round.again && !this.stopping) {
          round.again = false;
          await this.deliverOnce(deviceId);
        }
      } catch (error) {
        // What the round knew of the queue is not to be trusted: the next signal claims again.
        this.drained.delete(deviceId);
        this.logger.warn(`Could not deliver to device ${deviceId}: ${String(error)}`);
      } finally {
        this.rounds.delete(deviceId);
      }
    })();
  }

  private async deliverOnce(deviceId: string): Promise<void> {
    const socket = this.sockets.get(deviceId);
    if (socket) {
      const { claimed, queued } = await this.claimFor(deviceId);
      // The socket may have closed during the claim: its commands wait for their ack clocks, and
      // nothing is remembered for a socket that is gone.
      const open = this.sockets.get(deviceId) === socket;
      for (const command of claimed) this.send(socket, command, open);
      const left = await queued;
      // A signal during the claim or the count has asked for another round, which looks again.
      if (claimed.length > 0 && left === 0 && this.sockets.get(deviceId) === socket)
        this.drained.add(deviceId);
      else this.drained.delete(deviceId);
      return;
    }
    const waiter = [...(this.waiters.get(deviceId) ?? [])].find((each) => !each.claiming);
    if (!waiter) return;
    waiter.claiming = true;
    let claimed: CommandRecord[] = [];
    try {
      ({ claimed } = await this.claimFor(deviceId));
    } finally {
      waiter.claiming = false;
      if (claimed.length > 0) waiter.finish(claimed);
      else if (waiter.endedWhileClaiming !== undefined) waiter.finish(waiter.endedWhileClaiming);
    }
  }

  /**
   * The command as its socket ack left it (`delivered`, or `failed` when refused), when this instance
   * sent it to the device's socket and the ack came before this call: a report about it then needs no
   * read. Null otherwise (no ack yet, another instance, or the ack changed nothing): read it.
   */
  async acked(deviceId: string, commandId: string): Promise<CommandRecord | null> {
    const handOver = this.handedOver.get(deviceId)?.get(commandId);
    return handOver?.ackHeard ? handOver.acked : null;
  }

  /**
   * Over the socket with an ack: accepted → delivered, refused → failed with the agent's reason. No ack
   * in time changes nothing here: the shared ack clock puts the command back in its queue.
   */
  private send(socket: AgentConnection, command: CommandRecord, remember: boolean): void {
    const ackTimeoutMs = this.transitions.clockSettings.ackTimeoutMs;
    const handOver: HandOver = { ackHeard: false, acked: Promise.resolve(null) };
    socket.emitWithAck(COMMAND_EVENT.name, toCommandResponse(command), ackTimeoutMs, (error, ack) => {
      const answer = error ? null : parseAck(ack);
      if (!answer) return;
      // Started now, before the socket's next event (its result, say) is handled, which awaits it.
      handOver.ackHeard = true;
      const transition = answer.accepted
        ? this.transitions.apply(command.id, ['sent'], { status: 'delivered' })
        : this.transitions.apply(command.id, ['sent'], {
            status: 'failed',
            error: { code: 'refused', message: answer.reason ?? 'The agent refused the command.' },
          });
      handOver.acked = transition.catch((failure: unknown) => {
        this.logger.warn(`Could not record the ack of command ${command.id}: ${String(failure)}`);
        return null;
      });
    });
    if (remember) this.remember(command, handOver);
  }

  /** At most as many per device as it may have in flight: the newest, a command sent again included. */
  private remember(command: CommandRecord, handOver: HandOver): void {
    let handedOver = this.handedOver.get(command.deviceId);
    if (!handedOver) {
      handedOver = new Map();
      this.handedOver.set(command.deviceId, handedOver);
    }
    handedOver.delete(command.id);
    handedOver.set(command.id, handOver);
    for (const oldest of handedOver.keys()) {
      if (handedOver.size <= this.config.COMMAND_MAX_IN_FLIGHT_PER_DEVICE) break;
      handedOver.delete(oldest);
    }
  }

  private forget(command: CommandRecord): void {
    const handedOver = this.handedOver.get(command.deviceId);
    handedOver?.delete(command.id);
    if (handedOver?.size === 0) this.handedOver.delete(command.deviceId);
  }
}

const MAX_REASON_LENGTH = 1000;

/** The agent's ack `{ accepted: boolean, reason? }`; anything else is no ack (the ack clock decides). */
function parseAck(ack: unknown): { accepted: boolean; reason?: string } | null {
  if (typeof ack !== 'object' || ack === null) return null;
  const { accepted, reason } = ack as { accepted?: unknown; reason?: unknown };
  if (typeof accepted !== 'boolean') return null;
  if (typeof reason !== 'string' || reason.length === 0) return { accepted };
  // Cut by code points, so that no surrogate pair is split; a reason the database cannot store (a NUL,
  // an unpaired surrogate) would lose the refusal itself, so it is replaced.
  const cut = Array.from(reason).slice(0, MAX_REASON_LENGTH).join('');
  return unstorableInput(cut).length === 0
    ? { accepted, reason: cut }
    : { accepted, reason: 'The agent refused the command with a reason that could not be stored.' };
}

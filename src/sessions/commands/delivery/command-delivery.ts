import { type CommandRecord } from '../command';

/**
 * The delivery engine's interface (issue 11 item 1): what the customer API of commands, and later the
 * steps of an approved remediation plan, use to get a command onto its device and to learn how it ended.
 * Behind it: the device's queue, the three clocks in shared state, and the routing to the agent's socket
 * or long poll on whichever instance holds it. Every transition it makes is emitted as `command:updated`.
 */
export abstract class CommandDelivery {
  /**
   * A command just created (`queued`): arms its clocks and delivers it at once when its device is
   * connected on any instance and has a free slot; otherwise it waits, oldest first, for the device.
   * `queued`, when the store counted it on creation, is how many of the device's commands wait with it.
   */
  abstract submit(command: CommandRecord, queued?: number): Promise<void>;

  /**
   * Cancels a command from any non-final status, emitting `command:updated`, and tells the device
   * (`command:cancel`) when the command may already be there. Returns the cancelled command, or null
   * when it was already final (the caller answers 409) or does not exist.
   */
  abstract cancel(commandId: string): Promise<CommandRecord | null>;

  /**
   * Starts hearing how a command ends, wherever in the cluster its last transition happens: watched
   * before it is submitted, a command that ends at once is not missed.
   */
  abstract watch(commandId: string): CommandWatch;

  /**
   * Calls `listener` with each command that reaches a final status, once per command, on the instance
   * that made that final transition (whichever made it: a result, a clock, a cancel); the remediation
   * feature issues a plan's next step from it. A listener that fails is logged and the others still run;
   * the transition stands. Returns the function that removes the listener.
   */
  abstract onFinal(listener: (command: CommandRecord) => Promise<void>): () => void;
}

export interface CommandWatch {
  /**
   * The command once it is final, or as it is when `waitMs` has passed; null when it does not exist.
   * `readFirst`: the command may have ended before the watch began (a command read earlier), so look.
   */
  settled(waitMs: number, options: { readFirst: boolean }): Promise<CommandRecord | null>;
  /** Stops hearing; settled() stops on its own. */
  stop(): void;
}

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
   */
  abstract submit(command: CommandRecord): Promise<void>;

  /**
   * Cancels a command from any non-final status, emitting `command:updated`, and tells the device
   * (`command:cancel`) when the command may already be there. Returns the cancelled command, or null
   * when it was already final (the caller answers 409) or does not exist.
   */
  abstract cancel(commandId: string): Promise<CommandRecord | null>;

  /**
   * The command once it is final, or as it is when `waitMs` has passed (or at once for 0), wherever in
   * the cluster its last transition happened; null when it does not exist.
   */
  abstract settled(commandId: string, waitMs: number): Promise<CommandRecord | null>;

  /**
   * Calls `listener` with each command that reaches a final status, once per command, on the instance
   * that made that final transition (whichever made it: a result, a clock, a cancel); the remediation
   * feature issues a plan's next step from it. A listener that fails is logged and the others still run;
   * the transition stands. Returns the function that removes the listener.
   */
  abstract onFinal(listener: (command: CommandRecord) => Promise<void>): () => void;
}

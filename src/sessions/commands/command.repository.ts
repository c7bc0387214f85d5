import { type Page } from '../../infra/database/keyset-cursor';
import {
  type CommandChange,
  type CommandCreation,
  type CommandRecord,
  type CommandStatus,
  type NewCommand,
} from './command';

/**
 * Storage port for commands. Adapters: SQL (PostgreSQL pool and embedded PGlite) and Supabase (PostgREST).
 * Every step that must be atomic is one SQL function that all of them call (create_command,
 * transition_command, claim_queued_commands); every adapter passes the same contract suite in test/storage.
 */
export abstract class CommandRepository {
  /**
   * Creates a queued command in an open session, or, when `idempotency` names a key this customer used
   * within its window, returns the command that key created (`created: false`), even if the session has
   * closed since: two concurrent calls with one key make one command. Throws SessionClosedError when the
   * session is closed or does not exist and no command answers to the key.
   */
  abstract create(command: NewCommand): Promise<CommandCreation>;

  abstract findById(id: string): Promise<CommandRecord | null>;

  /** A session's commands in creation order, one page at a time. */
  abstract listBySession(query: {
    sessionId: string;
    cursor?: string;
    limit: number;
  }): Promise<Page<CommandRecord>>;

  /**
   * One transition (COMMAND_TRANSITIONS) as one conditional update: the command enters `change.status`
   * only if it is in one of `from` now, its revision grows by one, and the rule's timestamp and attempt
   * bookkeeping apply. Returns the command as it now is, or null when it was in none of `from` (another
   * instance won, or it is already past that point) or does not exist.
   */
  abstract transition(
    id: string,
    from: readonly CommandStatus[],
    change: CommandChange,
  ): Promise<CommandRecord | null>;

  /**
   * Sends a device's oldest queued, unexpired commands: as many as leave at most `maxInFlight` of its
   * commands sent, delivered or running. They are `sent` when returned, oldest first. Concurrent claims
   * for one device never exceed the bound together.
   */
  abstract claimQueued(deviceId: string, maxInFlight: number): Promise<CommandRecord[]>;

  /** How many of a device's commands wait in its queue. */
  abstract countQueued(deviceId: string): Promise<number>;

  /**
   * Commands that are not final, across devices, in id order after `afterId`, at most `limit`: for
   * rebuilding their clocks after a restart or a cache loss.
   */
  abstract listNotFinal(page: { afterId?: string; limit: number }): Promise<CommandRecord[]>;
}

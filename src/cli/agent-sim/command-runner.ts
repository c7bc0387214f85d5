import {
  checkCommandParams,
  type CommandType,
  isCommandType,
} from '../../sessions/commands/command-catalogue';
import { type CommandParams, runDiagnostic } from './diagnostics';

/** How the simulated agent misbehaves, for tests and demos (the command-line flags). */
export interface SimBehaviour {
  /** Each execution takes this long, with a progress report halfway; 0 answers at once. */
  slowMs: number;
  /** Types whose every command fails with `simulated_failure`. */
  fail: ReadonlySet<CommandType>;
  /** Types whose commands are acknowledged `{ accepted: false }`. */
  refuse: ReadonlySet<CommandType>;
  /** Never acknowledges a command, nor runs it: the gateway redelivers it, then gives up. */
  dropAcks: boolean;
  /** Acknowledges and then never reports anything: the command times out. */
  noAnswer: boolean;
}

export const DEFAULT_BEHAVIOUR: SimBehaviour = {
  slowMs: 0,
  fail: new Set(),
  refuse: new Set(),
  dropAcks: false,
  noAnswer: false,
};

/** The agent's answer to a `command` (docs/guide.md#socketio). */
export interface AckReply {
  accepted: boolean;
  reason?: string;
}

export interface ProgressReport {
  message?: string;
  pct?: number;
}

export interface ResultReport {
  status: 'succeeded' | 'failed';
  output?: Record<string, unknown>;
  error?: { code: string; message: string };
}

/**
 * How the gateway took a report: `taken` (recorded, or a repeat it ignored), `gone` (the command is
 * final or not this device's: a 404 or 409, so there is nothing more to say about it), `refused` (the
 * report itself was bad; sending it again would not help).
 */
export type ReportOutcome = 'taken' | 'gone' | 'refused';

/** Where the runner's reports go: the socket, or the HTTP routes. Each delivers a result until taken. */
export interface CommandChannel {
  progress(commandId: string, report: ProgressReport): Promise<ReportOutcome>;
  result(commandId: string, report: ResultReport): Promise<ReportOutcome>;
}

/**
 * Sends the agent's answer to one delivery of a command; resolves whether the gateway took the ack. Not
 * taken (the command is gone, or the ack was lost) means the command is not run: if it is still open,
 * the gateway delivers it again.
 */
export type Acknowledge = (reply: AckReply) => Promise<boolean>;

interface Entry {
  type: string;
  reply: AckReply;
  state: 'acknowledging' | 'running' | 'reporting' | 'done' | 'cancelled';
  result?: ResultReport;
  stop: AbortController;
}

/** Commands remembered for de-duplication; the oldest finished ones are forgotten past this. */
const REMEMBERED = 1000;

/**
 * Executes the commands one simulated device receives. Delivery is at least once, so commands are
 * de-duplicated by id: a repeated delivery is acknowledged again as the first was and never run twice
 * (a finished command's result is sent again, in case the first was lost). A cancelled command stops
 * and reports nothing further.
 */
export class CommandRunner {
  private readonly commands = new Map<string, Entry>();

  constructor(
    private readonly deviceId: string,
    private readonly channel: CommandChannel,
    private readonly behaviour: SimBehaviour,
    private readonly log: (message: string) => void,
  ) {}

  /** One delivery of a command: acknowledged before this resolves; the execution goes on after. */
  async receive(payload: unknown, acknowledge: Acknowledge): Promise<void> {
    const command = readCommand(payload);
    if (this.behaviour.dropAcks) {
      this.log(`command ${command.id ?? '?'} (${command.type}) received; not acknowledging it (--drop-acks)`);
      return;
    }
    if (command.id === undefined) {
      await acknowledge({ accepted: false, reason: 'a command needs an id' });
      return;
    }
    const id = command.id;
    const known = this.commands.get(id);
    if (known) {
      this.log(`command ${id} (${known.type}) delivered again; acknowledged again, not run again`);
      await acknowledge(known.reply);
      if (known.state === 'done' && known.result) void this.report(id, known, known.result);
      return;
    }
    const reply = this.decide(command);
    const entry: Entry = { type: command.type, reply, state: 'acknowledging', stop: new AbortController() };
    this.remember(id, entry);
    const taken = await acknowledge(reply);
    if (!reply.accepted) {
      this.log(`command ${id} (${command.type}) refused: ${reply.reason ?? ''}`);
      entry.state = 'done';
      return;
    }
    if (!taken) {
      this.commands.delete(id);
      return;
    }
    entry.state = 'running';
    this.log(`command ${id} (${command.type}) accepted`);
    void this.execute(id, entry, command.type as CommandType, command.params as CommandParams[CommandType]);
  }

  /** `command:cancel`: the command stops where it is and reports nothing further. */
  cancel(commandId: unknown): void {
    if (typeof commandId !== 'string') return;
    const entry = this.commands.get(commandId);
    if (!entry || entry.state === 'done' || entry.state === 'cancelled') return;
    entry.state = 'cancelled';
    entry.stop.abort();
    this.log(`command ${commandId} (${entry.type}) cancelled`);
  }

  /** Stops every execution, so that no timer keeps the process alive. */
  stop(): void {
    for (const entry of this.commands.values()) entry.stop.abort();
  }

  private decide(command: IncomingCommand): AckReply {
    if (!isCommandType(command.type)) {
      return { accepted: false, reason: `unknown command type ${JSON.stringify(command.type)}` };
    }
    if (this.behaviour.refuse.has(command.type)) {
      return { accepted: false, reason: `the simulator refuses ${command.type} (--refuse ${command.type})` };
    }
    const checked = checkCommandParams(command.type, command.params);
    if ('errors' in checked) {
      return {
        accepted: false,
        reason: `invalid params: ${checked.errors.map(({ field, message }) => `${field}: ${message}`).join('; ')}`,
      };
    }
    return { accepted: true };
  }

  private async execute<T extends CommandType>(
    id: string,
    entry: Entry,
    type: T,
    params: CommandParams[T],
  ): Promise<void> {
    if (this.behaviour.noAnswer) {
      this.log(`command ${id} (${type}): never answering (--no-answer)`);
      return;
    }
    const { signal } = entry.stop;
    if (!(await this.progress(id, entry, { message: `${type} started`, pct: 0 }))) return;
    if (this.behaviour.slowMs > 0) {
      const half = Math.floor(this.behaviour.slowMs / 2);
      if (!(await pause(half, signal))) return;
      if (!(await this.progress(id, entry, { message: `${type} halfway`, pct: 50 }))) return;
      if (!(await pause(this.behaviour.slowMs - half, signal))) return;
    }
    if (signal.aborted) return;
    await this.report(id, entry, this.outcome(id, type, params));
  }

  private outcome<T extends CommandType>(id: string, type: T, params: CommandParams[T]): ResultReport {
    if (this.behaviour.fail.has(type)) {
      const message = `the simulator fails every ${type} (--fail ${type})`;
      return { status: 'failed', error: { code: 'simulated_failure', message } };
    }
    const output = runDiagnostic(type, params, { commandId: id, deviceId: this.deviceId, now: new Date() });
    return { status: 'succeeded', output: output as unknown as Record<string, unknown> };
  }

  /** Whether the command goes on: a progress report the gateway says is too late ends it. */
  private async progress(id: string, entry: Entry, report: ProgressReport): Promise<boolean> {
    if (entry.stop.signal.aborted) return false;
    const outcome = await this.channel.progress(id, report);
    if (outcome === 'gone' && entry.state === 'running') {
      this.log(`command ${id} (${entry.type}) is over at the gateway; stopping it`);
      entry.state = 'cancelled';
      entry.stop.abort();
    }
    return !entry.stop.signal.aborted;
  }

  private async report(id: string, entry: Entry, result: ResultReport): Promise<void> {
    entry.result = result;
    entry.state = 'reporting';
    const outcome = await this.channel.result(id, result);
    entry.state = 'done';
    const how = result.status === 'failed' ? `failed (${result.error?.code ?? ''})` : 'succeeded';
    const answered = {
      taken: 'reported',
      gone: 'over at the gateway already',
      refused: 'refused by the gateway',
    };
    this.log(`command ${id} (${entry.type}) ${how}: ${answered[outcome]}`);
  }

  private remember(id: string, entry: Entry): void {
    this.commands.set(id, entry);
    if (this.commands.size <= REMEMBERED) return;
    for (const [oldId, old] of this.commands) {
      if (old.state === 'done' || old.state === 'cancelled') {
        this.commands.delete(oldId);
        return;
      }
    }
  }
}

interface IncomingCommand {
  id: string | undefined;
  type: string;
  params: unknown;
}

function readCommand(payload: unknown): IncomingCommand {
  const fields = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
  return {
    id: typeof fields.id === 'string' && fields.id !== '' ? fields.id : undefined,
    type: typeof fields.type === 'string' ? fields.type : String(fields.type),
    params: fields.params ?? {},
  };
}

/** Waits ms; false when the command was stopped meanwhile. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stopped);
      resolve(true);
    }, ms);
    const stopped = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', stopped, { once: true });
  });
}

/**
 * A simulated device's side of commands on its `/agent` socket (docs/guide.md#command-delivery, #socketio),
 * for the benchmarks that load commands: every `command` event is acked `{ accepted: true }`, then, after
 * a fixed think time, answered with `command:result` (succeeded, a ping's output) whose ack must be
 * `{ ok: true }`. It answers every event it gets, a command sent again included: the same result again
 * is a no-op by the contract. The reference agent (src/cli/agent-sim/) also runs the command and retries;
 * this one only answers, so that the device side costs the server nothing beyond the protocol.
 */
import { type Socket } from 'socket.io-client';

export interface CommandAgentOptions {
  /** From the `command` event to its `command:result`; 0 answers at once. */
  thinkMs: number;
}

/** Per process, summed over its sockets. */
export interface CommandAgentCounts {
  received: number;
  /** Results the server acked `{ ok: true }`. */
  answered: number;
}

const RESULT_ACK_TIMEOUT_MS = 30_000;

/** A ping's output (PingOutput in src/sessions/commands/command-catalogue.ts). */
const pingOutput = (host: unknown, count: unknown) => ({
  host: typeof host === 'string' ? host : 'example.com',
  address: '192.0.2.10',
  transmitted: typeof count === 'number' ? count : 1,
  received: typeof count === 'number' ? count : 1,
  lossPct: 0,
  rttMs: { min: 11.2, avg: 12.4, max: 13.9, mdev: 0.8 },
});

/**
 * Answers the commands `socket` receives until it closes. `fail` hears each answer that went wrong (a
 * malformed command, a result not acked, or acked with an error).
 */
export function answerCommands(
  socket: Socket,
  options: CommandAgentOptions,
  counts: CommandAgentCounts,
  fail: (failure: string) => void,
): void {
  socket.on('command', (command: unknown, ack?: (reply: unknown) => void) => {
    counts.received += 1;
    const { id, params } = (command ?? {}) as { id?: unknown; params?: { host?: unknown; count?: unknown } };
    if (typeof id !== 'string' || typeof ack !== 'function') {
      fail(`a command event without an id or an ack: ${JSON.stringify(command)}`);
      return;
    }
    ack({ accepted: true });
    const report = (): void => {
      const result = { commandId: id, status: 'succeeded', output: pingOutput(params?.host, params?.count) };
      socket
        .timeout(RESULT_ACK_TIMEOUT_MS)
        .emitWithAck('command:result', result)
        .then(
          (reply: unknown) => {
            if ((reply as { ok?: unknown } | null)?.ok === true) counts.answered += 1;
            else fail(`command ${id}: result refused ${JSON.stringify(reply)}`);
          },
          (error: unknown) => {
            fail(`command ${id}: result not acked (${String(error)})`);
          },
        );
    };
    if (options.thinkMs > 0) setTimeout(report, options.thinkMs);
    else report();
  });
}

import { setTimeout as delay } from 'node:timers/promises';
import { io, type Socket } from 'socket.io-client';
import {
  type CommandChannel,
  CommandRunner,
  type ProgressReport,
  type ReportOutcome,
  type ResultReport,
} from './command-runner';
import { type AgentOptions, heartbeatBody, log, register } from './gateway-client';
import { HttpChannel, outcomeOf } from './http-channel';

/** How long a report waits for the gateway's ack on the socket before it is sent again. */
const REPORT_ACK_TIMEOUT_MS = 10_000;
/** `--disconnect-mid-command`: how long the socket stays away before it reconnects. */
const DISCONNECTED_FOR_MS = 1_000;

/** What a socket ack (`{ ok, command? , error? }`) means for the command. */
function outcomeOfReply(reply: unknown): ReportOutcome | 'retry' {
  const { ok, error } = (typeof reply === 'object' && reply !== null ? reply : {}) as {
    ok?: unknown;
    error?: { status?: unknown };
  };
  if (ok === true) return 'taken';
  return typeof error?.status === 'number' ? outcomeOf(error.status) : 'refused';
}

/**
 * One simulated agent on the socket: register, connect, heartbeat, reconnect, and execute the commands
 * the gateway sends. Reports go over the socket; once the gateway has closed the socket for good
 * (`replaced`, `revoked`), results still owed go over HTTP.
 */
export class SocketAgent implements CommandChannel {
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  connected = false;
  ended: string | undefined;
  private stopped = false;
  private readonly stopping = new AbortController();
  private readonly runner: CommandRunner;
  private readonly log: (message: string) => void;
  private readonly http: HttpChannel;
  /** Reports waiting for the socket to come back. */
  private waiters: (() => void)[] = [];
  private disconnectedOnce = false;

  constructor(private readonly options: AgentOptions) {
    const deviceId = options.credentials.deviceId;
    const write = options.log ?? log;
    this.log = (message: string) => {
      write(`${deviceId}: ${message}`);
    };
    const prefixed = this.log;
    this.runner = new CommandRunner(deviceId, this, options.behaviour, prefixed);
    this.http = new HttpChannel(options.url, options.credentials, this.stopping.signal, prefixed);
  }

  async start(): Promise<void> {
    const registration = await register(this.options);
    if (this.stopped) return;
    const { credentials } = this.options;
    const socket = io(`${this.options.url}${registration.realtime.namespace}`, {
      path: registration.realtime.path,
      transports: ['websocket'],
      auth: { deviceId: credentials.deviceId, secret: credentials.secret },
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 30_000,
      randomizationFactor: 0.5,
    });
    this.socket = socket;
    socket.on('connect', () => {
      this.connected = true;
      this.heartbeat();
      clearInterval(this.timer);
      this.timer = setInterval(() => {
        this.heartbeat();
      }, registration.heartbeatIntervalSec * 1000);
      this.wake();
    });
    socket.on('disconnect', (reason) => {
      this.connected = false;
      clearInterval(this.timer);
      if (reason === 'io server disconnect' && this.ended === undefined) {
        // Closed by the gateway without saying why: come back.
        socket.connect();
      }
      if (this.ended !== undefined) this.wake();
    });
    socket.on('connection:closing', ({ reason }: { reason: string }) => {
      if (reason === 'shutdown') {
        // That instance is stopping and closes the transport: socket.io-client reconnects by itself.
        this.log(`the gateway instance is shutting down; reconnecting`);
        return;
      }
      this.ended = reason;
      this.log(`connection closed by the gateway (${reason}); not reconnecting`);
    });
    socket.on('connect_error', (error: Error & { data?: { code?: string } }) => {
      if (error.data?.code === 'invalid_credentials') {
        this.ended = 'invalid_credentials';
        socket.disconnect();
        this.log(`credentials refused; stopping`);
        this.wake();
      }
    });
    socket.on('command', (payload: unknown, ack?: (reply: unknown) => void) => {
      void this.runner.receive(payload, (reply) => {
        ack?.(reply);
        if (reply.accepted && this.options.disconnectMidCommand && !this.disconnectedOnce) {
          this.disconnectedOnce = true;
          this.dropForAMoment(socket);
        }
        return Promise.resolve(true);
      });
    });
    socket.on('command:cancel', (payload: { commandId?: unknown } | undefined) => {
      this.runner.cancel(payload?.commandId);
    });
  }

  /** `--disconnect-mid-command`: the ack goes out first, then the socket closes and comes back later. */
  private dropForAMoment(socket: Socket): void {
    setImmediate(() => {
      this.log(`disconnecting mid-command (--disconnect-mid-command)`);
      socket.disconnect();
      setTimeout(() => {
        if (this.stopped || this.ended !== undefined) return;
        this.log(`reconnecting`);
        socket.connect();
      }, DISCONNECTED_FOR_MS);
    });
  }

  /**
   * Waits for the gateway's ack, so that the result that follows cannot overtake it, and so that a
   * command the gateway already ended stops here. Progress is worth one try: a lost report is superseded
   * by the next one.
   */
  async progress(commandId: string, report: ProgressReport): Promise<ReportOutcome> {
    const socket = await this.whenConnected();
    if (socket === undefined)
      return this.ended === undefined ? 'taken' : this.http.progress(commandId, report);
    try {
      const reply: unknown = await socket
        .timeout(REPORT_ACK_TIMEOUT_MS)
        .emitWithAck('command:progress', { commandId, ...report });
      const outcome = outcomeOfReply(reply);
      if (outcome === 'gone') return 'gone';
      if (outcome !== 'taken')
        this.log(`command ${commandId}: progress not taken (${JSON.stringify(reply)})`);
    } catch {
      this.log(`command ${commandId}: progress not acknowledged; going on`);
    }
    return 'taken';
  }

  async result(commandId: string, report: ResultReport): Promise<ReportOutcome> {
    for (let wait = 1000; ; wait = Math.min(wait * 2, 30_000)) {
      const socket = await this.whenConnected();
      if (socket === undefined) {
        if (this.ended !== undefined) return this.http.result(commandId, report);
        this.log(`command ${commandId}: stopping with its result undelivered`);
        return 'refused';
      }
      try {
        const reply: unknown = await socket
          .timeout(REPORT_ACK_TIMEOUT_MS)
          .emitWithAck('command:result', { commandId, ...report });
        const outcome = outcomeOfReply(reply);
        if (outcome === 'refused') {
          this.log(`command ${commandId}: result refused (${JSON.stringify(reply)})`);
        }
        if (outcome !== 'retry') return outcome;
      } catch {
        // No ack within the timeout (or the socket dropped meanwhile): the next try tells.
      }
      this.log(`command ${commandId}: result not acknowledged; again in ${wait} ms`);
      try {
        await delay(wait, undefined, { signal: this.stopping.signal });
      } catch (error) {
        if (!this.stopping.signal.aborted) throw error;
      }
    }
  }

  /** The socket once connected; undefined when it never will be again (ended by the gateway, or stopped). */
  private async whenConnected(): Promise<Socket | undefined> {
    while (!this.stopped && this.ended === undefined) {
      if (this.socket?.connected) return this.socket;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return undefined;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private heartbeat(): void {
    const socket = this.socket;
    if (!socket?.connected) return;
    socket
      .timeout(10_000)
      .emitWithAck('heartbeat', heartbeatBody())
      .catch((error: unknown) => {
        this.log(`heartbeat not acknowledged (${String(error)})`);
      });
  }

  /** Closes the socket (the gateway gets a client disconnect); an agent still registering never connects. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.stopping.abort();
    this.runner.stop();
    this.wake();
    this.socket?.close();
  }
}

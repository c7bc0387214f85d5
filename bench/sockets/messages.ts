import { type BenchDevice } from '../shared/bench-device';

/** Which server a group of client sockets talks to. */
export type ServerName = 'gateway' | 'bare';

/** What the runner asks a client process (client.ts) to do, over the IPC channel. */
export type ClientCommand =
  | { type: 'connect'; server: ServerName; url: string; devices: BenchDevice[]; concurrency: number }
  | {
      type: 'heartbeat';
      server: ServerName;
      /** The first `sockets` sockets of the group send, each every `intervalMs`, for `durationMs`. */
      sockets: number;
      intervalMs: number;
      durationMs: number;
      /** Heartbeat index offset, so that values differ between rounds as they would in the field. */
      round: number;
    }
  | { type: 'probe'; server: ServerName; payload: unknown }
  | { type: 'status'; server: ServerName }
  | { type: 'disconnect'; server: ServerName };

export interface ConnectResult {
  type: 'connected';
  connected: number;
  failures: string[];
}

export interface HeartbeatResult {
  type: 'heartbeats';
  sent: number;
  acked: number;
  failures: string[];
  latenciesMs: number[];
}

export interface ProbeResult {
  type: 'probed';
  ack: unknown;
}

export interface StatusResult {
  type: 'status';
  connected: number;
  /** Sockets the server closed while they should have stayed connected, by reason. */
  dropped: Record<string, number>;
}

export interface DisconnectResult {
  type: 'disconnected';
  /** Sockets the server closed while they should have stayed connected, by reason. */
  dropped: Record<string, number>;
}

export type ClientReply =
  | { type: 'ready' }
  | ConnectResult
  | HeartbeatResult
  | ProbeResult
  | StatusResult
  | DisconnectResult
  | { type: 'failed'; message: string };

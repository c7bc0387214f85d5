import { type Socket } from 'socket.io-client';
import { type CommandRecord } from '../../src/sessions/commands/command';
import { type CommandResponse } from '../../src/sessions/commands/dto/command.response';
import { CommandDelivery } from '../../src/sessions/commands/delivery/command-delivery';
import { CommandRepository } from '../../src/sessions/commands/command.repository';
import { basic, bearer, type GatewayInstance, request } from '../support/gateway-instance';
import { type CreatedDevice } from '../support/realtime-cluster';

/** Short command clocks for e2e files: ack timeout 1 s, sweep every 100 ms, two attempts. */
export const SHORT_CLOCKS = {
  COMMAND_ACK_TIMEOUT_SEC: '1',
  COMMAND_SWEEP_INTERVAL_MS: '100',
  COMMAND_MAX_ATTEMPTS: '2',
};

export type Credentials = CreatedDevice['credentials'];

/** Registers the device's agent with the diagnostic capabilities the tests issue. */
export async function register(instance: GatewayInstance, credentials: Credentials): Promise<void> {
  const response = await request(`${instance.url}/v1/agent/register`, {
    method: 'POST',
    authorization: basic(credentials.deviceId, credentials.secret),
    body: { agentVersion: '1.0.0', capabilities: ['ping', 'dns_lookup', 'interface_status', 'arp_table'] },
  });
  if (response.status !== 200) throw new Error(`registering answered ${response.status}`);
}

export async function openSession(
  instance: GatewayInstance,
  deviceId: string,
  token: string,
): Promise<string> {
  const response = await request<{ id: string }>(`${instance.url}/v1/devices/${deviceId}/sessions`, {
    method: 'POST',
    authorization: bearer(token),
    body: {},
  });
  if (response.status !== 201) throw new Error(`opening a session answered ${response.status}`);
  return response.body.id;
}

export interface Issue {
  type?: 'ping' | 'interface_status' | 'arp_table';
  timeoutSec?: number;
}

const PARAMS = { ping: { host: '192.0.2.1', count: 1 }, interface_status: {}, arp_table: {} };

/** A new device of the token's customer, registered, with an open session. */
export async function deviceWithSession(
  instance: GatewayInstance,
  token: string,
): Promise<{ credentials: Credentials; sessionId: string }> {
  const created = await request<{ credentials: Credentials }>(`${instance.url}/v1/devices`, {
    method: 'POST',
    authorization: bearer(token),
    body: { name: 'pi' },
  });
  if (created.status !== 201) throw new Error(`creating a device answered ${created.status}`);
  const { credentials } = created.body;
  await register(instance, credentials);
  return { credentials, sessionId: await openSession(instance, credentials.deviceId, token) };
}

/** Issues a command over the customer API on `instance` (POST /v1/sessions/:id/commands). */
export async function issue(
  instance: GatewayInstance,
  sessionId: string,
  token: string,
  { type = 'interface_status', timeoutSec }: Issue = {},
): Promise<CommandResponse> {
  const response = await request<CommandResponse>(`${instance.url}/v1/sessions/${sessionId}/commands`, {
    method: 'POST',
    authorization: bearer(token),
    body: { type, params: PARAMS[type], ...(timeoutSec === undefined ? {} : { timeoutSec }) },
  });
  if (response.status !== 202) throw new Error(`issuing a command answered ${response.status}`);
  return response.body;
}

/**
 * A command with an expiry of its own, which the API does not take (COMMAND_EXPIRY_SEC applies to all):
 * created in the session and handed to the delivery engine, as the customer API does.
 */
export async function issueExpiringIn(
  instance: GatewayInstance,
  sessionId: string,
  customerId: string,
  expiresInSec: number,
): Promise<CommandRecord> {
  const { command } = await instance.app.get(CommandRepository).create({
    sessionId,
    type: 'interface_status',
    params: {},
    timeoutSec: 30,
    expiresInSec,
    issuedBy: `customer:${customerId}`,
    planStep: null,
    idempotency: null,
  });
  await instance.app.get(CommandDelivery).submit(command);
  return command;
}

export function readCommand(instance: GatewayInstance, id: string): Promise<CommandRecord | null> {
  return instance.app.get(CommandRepository).findById(id);
}

type AckCallback = (answer: { accepted: boolean; reason?: string }) => void;

/** What a test agent does with each `command` it receives. */
export type AgentBehaviour = (command: CommandResponse, ack: AckCallback, socket: Socket) => void;

/** The reference behaviour: accepts, reports progress, then succeeds with an output naming the command. */
export const succeeding: AgentBehaviour = (command, ack, socket) => {
  ack({ accepted: true });
  socket.emit('command:progress', { commandId: command.id, pct: 50 }, () => {
    socket.emit('command:result', {
      commandId: command.id,
      status: 'succeeded',
      output: { ran: command.id, attempt: command.attempt },
    });
  });
};

/** Answers every `command` on the socket with `behaviour`, and records what it received. */
export function actAs(socket: Socket, behaviour: AgentBehaviour): CommandResponse[] {
  const received: CommandResponse[] = [];
  socket.on('command', (command: CommandResponse, ack: AckCallback) => {
    received.push(command);
    behaviour(command, ack, socket);
  });
  return received;
}

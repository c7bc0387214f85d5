/**
 * The reference device agent, `npm run agent:sim` (see USAGE). For each simulated device it creates (or
 * reuses) credentials, registers over HTTP with every catalogue type as its capabilities, then either
 * connects to /agent (heartbeats on the interval the gateway returns, reconnects with exponential backoff,
 * stops for good on `replaced` or `revoked`) or, with --http, heartbeats and long-polls over HTTP. It
 * executes every command type with synthetic output of the documented shape (agent-sim/diagnostics.ts);
 * the other flags make it misbehave for tests and demos. With no --token, a customer token is minted from
 * the same environment as `dev:token` (an embedded gateway's DATA_DIR, or SUPABASE_JWT_SECRET). SIGTERM or
 * SIGINT closes every socket, and the process exits once they are closed.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { COMMAND_TYPES, type CommandType, isCommandType } from '../sessions/commands/command-catalogue';
import { type SimBehaviour } from './agent-sim/command-runner';
import {
  type AgentOptions,
  call,
  customerToken,
  ensureCredentials,
  log,
  SIM_CUSTOMER_SUB,
} from './agent-sim/gateway-client';
import { HttpAgent } from './agent-sim/http-agent';
import { SocketAgent } from './agent-sim/socket-agent';
import { runCli } from './run-cli';
import { isUuid } from '../common/uuid';
import { loadConfigFromEnvironment } from '../config/environment';

const USAGE = `Usage: npm run agent:sim -- [--devices <n>] [--url <gateway>] [--token <token> | --customer <uuid>]
       [--credentials <file>] [--http] [--slow <ms>] [--fail <type>]... [--refuse <type>]...
       [--drop-acks] [--no-answer] [--disconnect-mid-command]

Simulated device agents: each registers with every command type as a capability, stays connected
(socket, or --http long poll), heartbeats, and executes the commands it is sent with synthetic output.

  --devices <n>            how many devices, 1..10000 (1); created on first run, their credentials
                           kept in --credentials (agent-sim.credentials.json) and reused
  --url <gateway>          http://127.0.0.1:<PORT>, PORT from the environment as the gateway reads it
                           (3000)
  --token <token>          a customer token to create the devices with; without it one is minted as
                           dev:token does, for --customer
  --customer <uuid>        the customer a minted token is for (${SIM_CUSTOMER_SUB})
  --credentials <file>     a JSON array of { deviceId, secret }: devices already created (by the
                           POST /v1/devices answer's credentials) are run as they are
  --http                   no socket: long-poll GET /v1/agent/commands and report over HTTP
  --slow <ms>              every execution takes that long, with a progress report halfway
  --fail <type>            commands of that type fail with simulated_failure (repeatable)
  --refuse <type>          commands of that type are acked { accepted: false } (repeatable)
  --drop-acks              never ack a command (the gateway redelivers, then gives up)
  --no-answer              ack commands and never report a result (they time out)
  --disconnect-mid-command drop the socket after acking the first command, reconnect a moment later,
                           then finish it
  -h, --help               this text`;

function commandTypes(flag: string, values: string[] | undefined): Set<CommandType> {
  const types = new Set<CommandType>();
  for (const value of values ?? []) {
    if (!isCommandType(value))
      throw new Error(`${flag} takes a command type (${COMMAND_TYPES.join(', ')}), not ${value}`);
    types.add(value);
  }
  return types;
}

function behaviourOf(values: {
  slow?: string;
  fail?: string[];
  refuse?: string[];
  'drop-acks'?: boolean;
  'no-answer'?: boolean;
}): SimBehaviour {
  const slowMs = Number(values.slow ?? '0');
  if (!Number.isInteger(slowMs) || slowMs < 0 || slowMs > 3_600_000) {
    throw new Error('--slow takes milliseconds, 0..3600000');
  }
  return {
    slowMs,
    fail: commandTypes('--fail', values.fail),
    refuse: commandTypes('--refuse', values.refuse),
    dropAcks: values['drop-acks'] ?? false,
    noAnswer: values['no-answer'] ?? false,
  };
}

/** Past this after SIGTERM/SIGINT, sockets that have not finished closing are abandoned. */
const STOP_GRACE_MS = 5_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      devices: { type: 'string', default: '1' },
      url: { type: 'string' },
      token: { type: 'string' },
      customer: { type: 'string' },
      credentials: { type: 'string', default: 'agent-sim.credentials.json' },
      http: { type: 'boolean', default: false },
      slow: { type: 'string' },
      fail: { type: 'string', multiple: true },
      refuse: { type: 'string', multiple: true },
      'drop-acks': { type: 'boolean' },
      'no-answer': { type: 'boolean' },
      'disconnect-mid-command': { type: 'boolean' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const behaviour = behaviourOf(values);
  const disconnectMidCommand = values['disconnect-mid-command'] ?? false;
  if (values.http && disconnectMidCommand)
    throw new Error('--disconnect-mid-command needs the socket; leave out --http');
  const transport = values.http ? 'long polls' : 'sockets';
  const count = Number(values.devices);
  if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new Error('--devices must be 1..10000');
  if (values.token !== undefined && values.customer !== undefined)
    throw new Error('--customer names whom a minted token is for; leave it out with --token');
  const customer = values.customer ?? SIM_CUSTOMER_SUB;
  if (!isUuid(customer)) throw new Error('--customer must be a UUID');
  // The gateway's own reading of PORT, so that one environment starts both on the same port.
  const url = (values.url ?? `http://127.0.0.1:${loadConfigFromEnvironment().PORT}`).replace(/\/+$/, '');
  const agents: (SocketAgent | HttpAgent)[] = [];
  const stopping = new AbortController();
  let token: Promise<string> | undefined;
  const lazyToken = () => (token ??= customerToken(values.token, customer));

  const report = setInterval(() => {
    const connected = agents.filter((agent) => agent.connected).length;
    void lazyToken()
      .then((bearer) =>
        call<{ items: unknown[] }>(`${url}/v1/devices?state=online&limit=100`, {
          authorization: `Bearer ${bearer}`,
        }),
      )
      .then(
        (page) => {
          log(
            `${connected}/${count} ${transport} connected; the gateway lists ${page.items.length}${page.items.length === 100 ? '+' : ''} devices online`,
          );
        },
        () => {
          log(`${connected}/${count} ${transport} connected`);
        },
      );
  }, 5000);

  // The process ends by itself once every socket has closed (the gateway sees each device leave with a
  // client disconnect, not a dropped connection); exiting at once would cut the close handshakes short.
  // Installed before any agent starts, so that a signal during start-up stops those started so far;
  // `on`, not `once`, as Ctrl-C under npm delivers SIGINT twice.
  const stop = (signal: NodeJS.Signals) => {
    if (stopping.signal.aborted) return;
    stopping.abort();
    clearInterval(report);
    for (const agent of agents) agent.stop();
    log(`${signal}: closing ${agents.length} ${transport}`);
    setTimeout(() => {
      log(`sockets still open ${STOP_GRACE_MS} ms after ${signal}; exiting anyway`);
      process.exit(1);
    }, STOP_GRACE_MS).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.once('exit', (code) => {
    if (stopping.signal.aborted && code === 0) log('stopped');
  });

  const credentials = await ensureCredentials(url, count, values.credentials, lazyToken);
  for (const entry of credentials) {
    if (stopping.signal.aborted) return;
    const options: AgentOptions = {
      url,
      credentials: entry,
      // Every type the catalogue knows, remediation included: those arrive only as steps of approved plans.
      capabilities: COMMAND_TYPES,
      behaviour,
      disconnectMidCommand,
    };
    const agent = values.http ? new HttpAgent(options) : new SocketAgent(options);
    agents.push(agent);
    await agent.start();
  }
  if (stopping.signal.aborted) return;
  log(`${count} agents started against ${url} (${values.http ? 'HTTP long poll' : 'socket'})`);
  if (values.token === undefined)
    log(
      `their devices belong to customer ${customer} (a token for it: npm run dev:token -- --sub ${customer})`,
    );
}

runCli(USAGE, main);

/**
 * bench:heartbeat: authenticated HTTP heartbeats (POST /v1/agent/heartbeat with Basic credentials)
 * against the built gateway and the bare HTTP server, each loaded by its own autocannon in this process.
 * The figure is requests per server CPU-second, gateway / bare.
 */
import autocannon from 'autocannon';
import { basicAuthorization, call, DATA_BACKENDS, heartbeatBody, shapeOf } from '../runner/local';
import { STARTUP_TIMEOUT_MS } from '../runner/local';
import { choiceOption, integerOption, type OptionValues, type Scenario } from '../runner/runner';
import { startBare, startGateway } from '../runner/servers';

type Server = 'gateway' | 'bare';

const readSettings = (values: OptionValues, quick: boolean) => ({
  connections: integerOption(values, 'connections', 32, 1, 256),
  warmupSec: quick ? 1 : 5,
  durationSec: integerOption(values, 'duration', quick ? 2 : 5, 1, 60),
  rounds: integerOption(values, 'rounds', quick ? 1 : 7, 1, 15),
  alternate: values.alternate === true,
  dataBackend: choiceOption(values, 'data-backend', DATA_BACKENDS),
});

export const heartbeat: Scenario<ReturnType<typeof readSettings>> = {
  name: 'heartbeat',
  compares: true,
  options: {
    alternate: { type: 'boolean', default: false },
    connections: { type: 'string' },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    'data-backend': { type: 'string', default: 'embedded' },
  },

  settings: readSettings,

  // Start-up, warm-ups and every window counted as if alternating (the longer mode), with a wide margin.
  budgetMs: (settings) =>
    STARTUP_TIMEOUT_MS * 2 +
    (2 * settings.warmupSec + 2 * settings.rounds * settings.durationSec) * 2_000 +
    60_000,

  async run(run, settings) {
    const count = Math.min(settings.connections, 32);
    const gateway = await startGateway(run, {
      dataBackend: settings.dataBackend,
      devices: count,
      register: true,
    });
    const { devices } = gateway;
    const servers = { gateway, bare: await startBare(run, 'http', devices) };

    // The comparison is only fair if the bare server answers what the gateway answers.
    const [first] = devices;
    if (!first) throw new Error('No device was created');
    const headers = (index: number) => ({
      authorization: basicAuthorization(devices[index % devices.length] ?? first),
      'content-type': 'application/json',
    });
    const shapes: string[] = [];
    const heartbeat = { method: 'POST', headers: headers(0), body: heartbeatBody(0) };
    for (const { url } of Object.values(servers))
      shapes.push(shapeOf(await call(`${url}/v1/agent/heartbeat`, heartbeat)));
    if (shapes[0] !== shapes[1])
      throw new Error(`Responses differ: gateway {${shapes[0]}}, bare {${shapes[1]}}`);
    // ... and refuses what the gateway refuses: wrong credentials, and a body off the schema.
    const wrongSecret = { ...first, secret: `${first.secret}x` };
    const refused = [
      { headers: { ...headers(0), authorization: basicAuthorization(wrongSecret) }, status: 401 },
      { headers: headers(0), body: JSON.stringify({ uptimeSec: -1, extra: true }), status: 400 },
    ];
    for (const { url } of Object.values(servers))
      for (const { status, ...request } of refused)
        await call(
          `${url}/v1/agent/heartbeat`,
          { method: 'POST', body: heartbeatBody(0), ...request },
          status,
        );

    console.log(
      `Heartbeat benchmark: POST /v1/agent/heartbeat with Basic credentials, ${devices.length} devices, ` +
        `${settings.connections} connections per server, ${settings.warmupSec} s warm-up, then ` +
        `${settings.rounds} × ${settings.durationSec} s, ` +
        (settings.alternate ? 'one server at a time, alternating' : 'both servers loaded at once'),
    );
    const perCpuSecond = { of: (sample: { count: number; cpuSec: number }) => sample.count / sample.cpuSec };
    await run.compare<Server>({
      subjects: ['gateway', 'bare'],
      servers: { gateway: gateway.process, bare: servers.bare.process },
      together: !settings.alternate,
      warmupSec: settings.warmupSec,
      rounds: settings.rounds,
      durationSec: settings.durationSec,
      async load(server, durationSec, round) {
        let next = 0;
        const result = await autocannon({
          url: `${servers[server].url}/v1/agent/heartbeat`,
          method: 'POST',
          connections: settings.connections,
          duration: durationSec,
          timeout: 10,
          renderProgressBar: false,
          renderResultsTable: false,
          renderLatencyTable: false,
          // Each connection is one device: its own credentials and its own heartbeat values.
          setupClient: (client) => {
            const index = next++ % devices.length;
            client.setHeadersAndBody(headers(index), heartbeatBody(index));
          },
        });
        const failed = result.non2xx + result.errors + result.timeouts;
        if (failed > 0 || result.requests.total === 0)
          throw new Error(
            `${server} ${round === 0 ? 'warm-up' : `round ${round}`}: ${result.non2xx} non-2xx responses, ` +
              `${result.errors} errors, ${result.timeouts} timeouts of ${result.requests.total} ` +
              `(status codes ${JSON.stringify(result.statusCodeStats)}). Every heartbeat must succeed.\n` +
              `Last output of ${server}:\n${servers[server].process.recentOutput()}`,
          );
        return { count: result.requests.total, p99Ms: result.latency.p99 };
      },
      figures: [
        { label: 'req/s', digits: 0, of: (sample) => sample.count / sample.wallSec },
        { label: 'req/CPU-s', digits: 0, ...perCpuSecond },
        { label: 'CPU-s', digits: 2, of: (sample) => sample.cpuSec },
        { label: 'wall s', digits: 2, of: (sample) => sample.wallSec },
        { label: 'p99 (ms)', digits: 1, of: (sample) => sample.p99Ms },
      ],
      ratios: [{ label: 'requests per CPU-second', ...perCpuSecond, target: { limit: 0.85, atLeast: true } }],
    });

    // Proof that both servers did the Redis work they are credited with.
    for (const keyPrefix of [run.scratch.prefix, `${run.scratch.prefix}bare:`]) {
      const key = `${keyPrefix}presence:${first.deviceId}`;
      const [state, body] = await run.scratch.redis.hmget(key, 'state', 'heartbeat');
      if (state !== 'online' || !body)
        throw new Error(`No heartbeat recorded in Redis under ${key} (state ${String(state)})`);
    }
  },
};

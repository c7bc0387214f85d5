/**
 * bench:auth-timing: how long the built gateway takes to answer a device authentication, by how it ends
 * (wrong secret, unknown id, revoked id, accepted). A refusal that answers faster or slower than another
 * tells a client which it was (does this device id exist?), so the figures to read are the medians side
 * by side.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { fixed, median, percentile, printTable } from '../runner/figures';
import { basicAuthorization, type BenchDevice, call, DATA_BACKENDS } from '../runner/local';
import { heartbeatBody, STARTUP_TIMEOUT_MS } from '../runner/local';
import { choiceOption, integerOption, type OptionValues, type Scenario } from '../runner/runner';
import { startGateway } from '../runner/servers';

/** What one try presents (bench/README.md); every kind but `accepted` is refused with the same 401. */
const KINDS = [
  'wrong_secret',
  'unknown_repeated',
  'revoked_repeated',
  'unknown_fresh',
  'known_fresh',
  'accepted',
] as const;
type Kind = (typeof KINDS)[number];

/** Fisher-Yates: each round tries every kind once, in a new order, so a drift of the machine hits all alike. */
function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = randomBytes(1).readUInt8(0) % (index + 1);
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}

const readSettings = (values: OptionValues, quick: boolean) => ({
  tries: integerOption(values, 'tries', quick ? 30 : 300, 10, 5_000),
  warmupTries: quick ? 5 : 50,
  dataBackend: choiceOption(values, 'data-backend', DATA_BACKENDS),
});

export const authTiming: Scenario<ReturnType<typeof readSettings>> = {
  name: 'auth-timing',
  compares: false,
  options: { tries: { type: 'string' }, 'data-backend': { type: 'string', default: 'embedded' } },
  settings: readSettings,
  // Each try is a few milliseconds; the budget is start-up plus a generous 50 ms per try.
  budgetMs: (settings) =>
    STARTUP_TIMEOUT_MS * 2 + (settings.tries + settings.warmupTries) * KINDS.length * 50 + 30_000,

  async run(run, settings) {
    // A live device, one to revoke, and one per round for known_fresh, never authenticated before its try.
    const rounds = settings.tries + settings.warmupTries;
    const gateway = await startGateway(run, { dataBackend: settings.dataBackend, devices: 2 + rounds });
    const [live, revoked, ...fresh] = gateway.devices as [BenchDevice, BenchDevice, ...BenchDevice[]];
    if (gateway.database) await gateway.database.revoke(revoked.deviceId);
    else {
      const headers = { authorization: `Bearer ${gateway.token ?? ''}` };
      await call(`${gateway.url}/v1/devices/${revoked.deviceId}`, { method: 'DELETE', headers }, 204);
    }

    const unknownId = randomUUID();
    const wrongSecret = (device: BenchDevice): BenchDevice => ({
      ...device,
      secret: randomBytes(32).toString('base64url'),
    });
    const presented: Record<Kind, (round: number) => BenchDevice> = {
      wrong_secret: () => wrongSecret(live),
      unknown_repeated: () => ({ ...live, deviceId: unknownId }),
      revoked_repeated: () => revoked,
      unknown_fresh: () => ({ ...live, deviceId: randomUUID() }),
      known_fresh: (round) => wrongSecret(fresh[round] ?? live),
      accepted: () => live,
    };
    const attempt = async (kind: Kind, round: number): Promise<number> => {
      const authorization = basicAuthorization(presented[kind](round));
      const headers = { authorization, 'content-type': 'application/json' };
      const startedAt = performance.now();
      await call(
        `${gateway.url}/v1/agent/heartbeat`,
        { method: 'POST', headers, body: heartbeatBody(0) },
        kind === 'accepted' ? 200 : 401,
      );
      return performance.now() - startedAt;
    };

    console.log(
      `Device authentication timing: POST /v1/agent/heartbeat, one request at a time over one keep-alive ` +
        `connection, ${settings.warmupTries} warm-up rounds, then ${settings.tries} rounds of one try of ` +
        `each kind in a shuffled order; data backend ${settings.dataBackend}, cache redis\n`,
    );
    const times = new Map<Kind, number[]>(KINDS.map((kind) => [kind, []]));
    for (let round = 0; round < rounds; round += 1) {
      for (const kind of shuffled(KINDS)) {
        const elapsedMs = await attempt(kind, round);
        if (round >= settings.warmupTries) times.get(kind)?.push(elapsedMs);
      }
    }
    const reference = median(times.get('wrong_secret') ?? []);
    const row = (kind: Kind, own: number[]) => [
      kind,
      fixed(median(own), 3),
      fixed(percentile(own, 0.9), 3),
      fixed(median(own) / reference, 2),
    ];
    printTable([
      ['kind', 'median (ms)', 'p90 (ms)', '/ wrong_secret'],
      ...[...times].map(([kind, own]) => row(kind, own)),
    ]);
  },
};

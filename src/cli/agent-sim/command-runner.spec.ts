import { randomUUID } from 'node:crypto';
import {
  type AckReply,
  type CommandChannel,
  CommandRunner,
  DEFAULT_BEHAVIOUR,
  type ProgressReport,
  type ReportOutcome,
  type ResultReport,
  type SimBehaviour,
} from './command-runner';

/** The runner's own port, recorded: what the agent told the gateway, in order. */
class RecordingChannel implements CommandChannel {
  readonly reports: (
    | { kind: 'progress'; commandId: string; report: ProgressReport }
    | { kind: 'result'; commandId: string; report: ResultReport }
  )[] = [];
  progressOutcome: ReportOutcome = 'taken';
  private readonly listeners: (() => void)[] = [];

  progress(commandId: string, report: ProgressReport): Promise<ReportOutcome> {
    this.record({ kind: 'progress', commandId, report });
    return Promise.resolve(this.progressOutcome);
  }

  result(commandId: string, report: ResultReport): Promise<ReportOutcome> {
    this.record({ kind: 'result', commandId, report });
    return Promise.resolve('taken');
  }

  results(commandId?: string): { commandId: string; report: ResultReport }[] {
    return this.reports.flatMap((entry) =>
      entry.kind === 'result' && (!commandId || entry.commandId === commandId) ? [entry] : [],
    );
  }

  progresses(commandId?: string): { commandId: string; report: ProgressReport }[] {
    return this.reports.flatMap((entry) =>
      entry.kind === 'progress' && (!commandId || entry.commandId === commandId) ? [entry] : [],
    );
  }

  /** Resolves once `count` results have been reported. */
  untilResults(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.results().length < count) return false;
        resolve();
        return true;
      };
      if (!check()) this.listeners.push(() => void check());
    });
  }

  private record(entry: RecordingChannel['reports'][number]): void {
    this.reports.push(entry);
    for (const listener of this.listeners) listener();
  }
}

const DEVICE_ID = '0c8f3a9e-5b21-4d6e-8a7f-93e1c2b4d5f6';

function setUp(behaviour: Partial<SimBehaviour> = {}) {
  const channel = new RecordingChannel();
  const logged: string[] = [];
  const runner = new CommandRunner(DEVICE_ID, channel, { ...DEFAULT_BEHAVIOUR, ...behaviour }, (line) => {
    logged.push(line);
  });
  const acks: { commandId: string; reply: AckReply }[] = [];
  /** Delivers a command as the gateway does; `taken` is what the gateway makes of the ack. */
  const deliver = (command: Record<string, unknown>, taken = true) =>
    runner.receive(command, (reply) => {
      acks.push({ commandId: String(command.id), reply });
      return Promise.resolve(taken);
    });
  return { channel, runner, acks, deliver, logged };
}

const command = (overrides: Partial<Record<string, unknown>> = {}): Record<string, unknown> => ({
  id: randomUUID(),
  sessionId: randomUUID(),
  deviceId: DEVICE_ID,
  type: 'ping',
  params: { host: 'example.com', count: 3 },
  status: 'sent',
  attempt: 1,
  timeoutSec: 30,
  expiresAt: new Date(Date.now() + 60_000).toISOString(),
  ...overrides,
});

afterEach(() => {
  jest.useRealTimers();
});

describe('the reference agent command runner', () => {
  it('acks a command, reports it started, then its result with the output of its type', async () => {
    const { channel, acks, deliver } = setUp();
    const ping = command();

    await deliver(ping);
    await channel.untilResults(1);

    expect(acks).toEqual([{ commandId: ping.id, reply: { accepted: true } }]);
    expect(channel.reports.map((entry) => entry.kind)).toEqual(['progress', 'result']);
    expect(channel.progresses()[0]!.report).toEqual({ message: 'ping started', pct: 0 });
    expect(channel.results()[0]).toMatchObject({
      commandId: ping.id,
      report: { status: 'succeeded', output: { host: 'example.com', transmitted: 3 } },
    });
  });

  it('acks a repeated delivery again and does not run it twice; a finished one has its result sent again', async () => {
    jest.useFakeTimers();
    const { channel, acks, deliver } = setUp({ slowMs: 100 });
    const ping = command();

    await deliver(ping);
    await deliver(ping);
    await jest.advanceTimersByTimeAsync(100);
    await channel.untilResults(1);
    await deliver(ping);
    await channel.untilResults(2);

    expect(acks.map(({ reply }) => reply)).toEqual([
      { accepted: true },
      { accepted: true },
      { accepted: true },
    ]);
    expect(channel.progresses(ping.id as string).map(({ report }) => report.pct)).toEqual([0, 50]);
    const [first, again] = channel.results(ping.id as string);
    expect(again!.report).toEqual(first!.report);
  });

  it('--slow takes that long, with a progress report halfway', async () => {
    jest.useFakeTimers();
    const { channel, deliver } = setUp({ slowMs: 1000 });

    await deliver(command({ type: 'speed_test', params: {} }));
    await jest.advanceTimersByTimeAsync(499);
    expect(channel.progresses().map(({ report }) => report.pct)).toEqual([0]);
    await jest.advanceTimersByTimeAsync(1);
    expect(channel.progresses().map(({ report }) => report)).toEqual([
      { message: 'speed_test started', pct: 0 },
      { message: 'speed_test halfway', pct: 50 },
    ]);
    await jest.advanceTimersByTimeAsync(499);
    expect(channel.results()).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(channel.results()).toHaveLength(1);
  });

  it('stops a cancelled command, which reports nothing further', async () => {
    jest.useFakeTimers();
    const { channel, runner, deliver } = setUp({ slowMs: 1000 });
    const traceroute = command({ type: 'traceroute', params: { host: 'example.com', maxHops: 8 } });

    await deliver(traceroute);
    await jest.advanceTimersByTimeAsync(600);
    runner.cancel(traceroute.id);
    await jest.advanceTimersByTimeAsync(5000);

    expect(
      channel.reports.map(({ kind, report }) => [kind, 'pct' in report ? report.pct : undefined]),
    ).toEqual([
      ['progress', 0],
      ['progress', 50],
    ]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stops a command when the gateway answers its progress as over (404 or 409)', async () => {
    jest.useFakeTimers();
    const { channel, deliver } = setUp({ slowMs: 1000 });
    channel.progressOutcome = 'gone';

    await deliver(command());
    await jest.advanceTimersByTimeAsync(5000);

    expect(channel.reports.map(({ kind }) => kind)).toEqual(['progress']);
  });

  it('--fail <type> fails that type with simulated_failure, and runs the others', async () => {
    const { channel, deliver } = setUp({ fail: new Set(['dns_lookup']) });
    const lookup = command({ type: 'dns_lookup', params: { name: 'example.com', recordType: 'A' } });
    const ping = command();

    await deliver(lookup);
    await deliver(ping);
    await channel.untilResults(2);

    expect(channel.results(lookup.id as string)[0]!.report).toEqual({
      status: 'failed',
      error: {
        code: 'simulated_failure',
        message: 'the simulator fails every dns_lookup (--fail dns_lookup)',
      },
    });
    expect(channel.results(ping.id as string)[0]!.report.status).toBe('succeeded');
  });

  it('--refuse <type> acks that type { accepted: false, reason }, the same again on redelivery, and runs nothing', async () => {
    jest.useFakeTimers();
    const { channel, acks, deliver } = setUp({ refuse: new Set(['wifi_scan']) });
    const scan = command({ type: 'wifi_scan', params: {} });

    await deliver(scan);
    await deliver(scan);
    await jest.advanceTimersByTimeAsync(1000);

    const refusal = { accepted: false, reason: 'the simulator refuses wifi_scan (--refuse wifi_scan)' };
    expect(acks.map(({ reply }) => reply)).toEqual([refusal, refusal]);
    expect(channel.reports).toEqual([]);
  });

  it('refuses a type outside the catalogue and params the catalogue does not allow', async () => {
    const { channel, acks, deliver } = setUp();

    await deliver(command({ type: 'shell', params: { cmd: 'reboot' } }));
    await deliver(command({ params: { host: 'example.com; reboot', count: 3 } }));
    await deliver({ type: 'ping' });

    expect(acks.map(({ reply }) => reply.accepted)).toEqual([false, false, false]);
    expect(acks[0]!.reply.reason).toBe('unknown command type "shell"');
    expect(acks[1]!.reply.reason).toMatch(/^invalid params: params\.host: /);
    expect(channel.reports).toEqual([]);
  });

  it('--drop-acks never acks a command nor runs it', async () => {
    jest.useFakeTimers();
    const { channel, acks, deliver, logged } = setUp({ dropAcks: true });

    await deliver(command());
    await jest.advanceTimersByTimeAsync(1000);

    expect(acks).toEqual([]);
    expect(channel.reports).toEqual([]);
    expect(logged.some((line) => line.includes('--drop-acks'))).toBe(true);
  });

  it('--no-answer acks a command and never reports on it', async () => {
    jest.useFakeTimers();
    const { channel, acks, deliver } = setUp({ noAnswer: true });

    await deliver(command());
    await jest.advanceTimersByTimeAsync(60_000);

    expect(acks.map(({ reply }) => reply)).toEqual([{ accepted: true }]);
    expect(channel.reports).toEqual([]);
  });

  it('does not run a command whose ack the gateway did not take, and runs it when delivered again', async () => {
    const { channel, deliver } = setUp();
    const ping = command();

    await deliver(ping, false);
    expect(channel.reports).toEqual([]);
    await deliver(ping);
    await channel.untilResults(1);

    expect(channel.results(ping.id as string)).toHaveLength(1);
  });

  it('runs every diagnostic type it is sent', async () => {
    const { channel, deliver } = setUp();
    const params: Record<string, Record<string, unknown>> = {
      ping: { host: '192.0.2.1', count: 1 },
      traceroute: { host: 'example.com', maxHops: 5 },
      dns_lookup: { name: 'example.com', recordType: 'NS' },
      http_check: { url: 'http://example.com/', method: 'HEAD' },
      port_check: { host: 'example.com', port: 22 },
      speed_test: {},
      interface_status: {},
      wifi_scan: {},
      arp_table: {},
    };

    for (const [type, typeParams] of Object.entries(params))
      await deliver(command({ type, params: typeParams }));
    await channel.untilResults(Object.keys(params).length);

    expect(channel.results().map(({ report }) => report.status)).toEqual(
      Object.keys(params).map(() => 'succeeded'),
    );
  });
});

import { ManagedProcess } from './child-process';

/**
 * A redis-server child process of this test's own, on a port of its choosing, keeping nothing on disk.
 * Unlike the shared Redis on 6379 it can be killed and started again to stage an outage.
 */
export class ThrowawayRedis {
  private process: ManagedProcess | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.process?.running) throw new Error(`redis-server on ${this.port} is already running`);
    this.process = new ManagedProcess(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        '/tmp',
      ],
      { env: { PATH: process.env.PATH } },
    );
    await this.process.waitForOutput(/Ready to accept connections/);
  }

  /** SIGSTOP: the connections stay open but nothing answers, as a hung or partitioned Redis. */
  freeze(): void {
    this.process?.signal('SIGSTOP');
  }

  resume(): void {
    this.process?.signal('SIGCONT');
  }

  /** SIGKILL: an outage, not a polite shutdown. */
  async kill(): Promise<void> {
    await this.process?.stop('SIGKILL');
  }

  async stop(): Promise<void> {
    this.resume();
    await this.process?.stop('SIGTERM');
  }
}

import { createWriteStream } from 'node:fs';
import WebSocket from 'ws';

/** The inspector URL `node --inspect=127.0.0.1:0` prints on stderr. */
export function inspectorUrl(output: string): string | undefined {
  return /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+)/.exec(output)?.[1];
}

export interface MemoryUsage {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

interface Reply {
  id?: number;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { message: string };
}

/**
 * A Chrome DevTools Protocol session with a server child started with `--inspect=127.0.0.1:0`: forced full
 * GCs before memory is read (both servers alike), heap snapshots and CPU profiles of chosen windows. Open
 * only while it is used: an attached session with these domains does not deoptimise anything, but it is
 * closed before CPU is measured all the same.
 */
export class InspectorSession {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (e: Error) => void }
  >();
  private readonly listeners = new Map<string, (params: unknown) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as Reply;
      if (message.id !== undefined) {
        const waiting = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) waiting?.reject(new Error(message.error.message));
        else waiting?.resolve(message.result);
      } else if (message.method) {
        this.listeners.get(message.method)?.(message.params);
      }
    });
    socket.on('close', () => {
      for (const waiting of this.pending.values()) waiting.reject(new Error('inspector session closed'));
      this.pending.clear();
    });
  }

  static async open(url: string): Promise<InspectorSession> {
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 ** 3 });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new InspectorSession(socket);
  }

  send<T>(method: string, params: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`inspector: ${method} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Two full, compacting collections: what is left is what the process holds on to. */
  async collectGarbage(): Promise<void> {
    await this.send('HeapProfiler.collectGarbage');
    await this.send('HeapProfiler.collectGarbage');
  }

  async memoryUsage(): Promise<MemoryUsage> {
    const { result } = await this.send<{ result: { value: string } }>('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    return JSON.parse(result.value) as MemoryUsage;
  }

  /**
   * Streams a heap snapshot (which itself starts with a full GC) to `file`; returns the URL of each script
   * id, to name the closures the snapshot locates by script id and line.
   */
  async writeHeapSnapshot(file: string): Promise<Map<string, string>> {
    const scripts = new Map<string, string>();
    this.listeners.set('Debugger.scriptParsed', (params) => {
      const { scriptId, url } = params as { scriptId: string; url: string };
      scripts.set(scriptId, url);
    });
    await this.send('Debugger.enable');
    await this.send('Debugger.disable');
    this.listeners.delete('Debugger.scriptParsed');
    const out = createWriteStream(file);
    this.listeners.set('HeapProfiler.addHeapSnapshotChunk', (params) => {
      out.write((params as { chunk: string }).chunk);
    });
    try {
      await this.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 600_000);
    } finally {
      this.listeners.delete('HeapProfiler.addHeapSnapshotChunk');
      await new Promise<void>((resolve, reject) => {
        out.end((error?: Error | null) => {
          if (error) reject(error);
          else resolve();
        });
      });
    }
    return scripts;
  }

  async startCpuProfile(): Promise<void> {
    await this.send('Profiler.enable');
    await this.send('Profiler.setSamplingInterval', { interval: 1000 });
    await this.send('Profiler.start');
  }

  /** The profile since startCpuProfile, in the .cpuprofile format `node --cpu-prof` writes. */
  async stopCpuProfile(): Promise<unknown> {
    const { profile } = await this.send<{ profile: unknown }>('Profiler.stop');
    await this.send('Profiler.disable');
    return profile;
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => {
        resolve();
      });
      this.socket.close();
    });
  }
}

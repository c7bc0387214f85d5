import { spawnSync } from 'node:child_process';
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

/** Inside DATA_DIR; never deleted (see DataDirLock). */
export const LOCK_FILE_NAME = 'gateway.lock';

/** Who holds a data folder, as the holder wrote it into the lock file. */
export interface DataDirLockHolder {
  pid: number;
  hostname: string;
  since: string;
}

/** The data folder could not be locked; the process must not touch it. */
export class DataDirLockError extends Error {
  constructor(
    message: string,
    readonly dataDir: string,
  ) {
    super(message);
    this.name = 'DataDirLockError';
  }
}

export class DataDirInUseError extends DataDirLockError {
  constructor(
    dataDir: string,
    readonly holder: DataDirLockHolder | null,
  ) {
    const who = holder
      ? `process ${holder.pid} on ${holder.hostname}, running since ${holder.since}`
      : 'a process that has not said which yet';
    super(
      `DATA_DIR ${dataDir} is in use by another gateway (${who}). One process per data folder: ` +
        'stop that one, or give this one another DATA_DIR.',
      dataDir,
    );
    this.name = 'DataDirInUseError';
  }
}

/**
 * An exclusive lock on a data folder, held until release() or the end of the process.
 *
 * Why flock(2): the kernel drops the lock when the process ends, however it ends (SIGKILL, OOM kill,
 * power loss), so nothing stale is ever left to block the next start, and taking it is atomic, so two
 * processes starting at once cannot both win. A pid file has neither property (a dead holder's pid may
 * be reused, and removing a stale file races with the next process creating one); a listening socket
 * in the folder leaves a stale socket file whose removal races the same way.
 *
 * Node has no flock, so flock(1) from util-linux takes it on the file descriptor this process keeps:
 * the child gets a duplicate of it, locks the open file they share, and exits. The lock belongs to that
 * open file, not to the child, so it lasts until this process closes its descriptor. Node opens files
 * close-on-exec, so no other child of the gateway inherits it.
 *
 * The lock file is never deleted: a process that opened it just before a deletion would lock a file no
 * longer in the folder, while the next process locks a new one. Its content (the holder's pid) is only
 * there for the message a refused process prints; the lock itself is the authority.
 */
export class DataDirLock {
  private constructor(
    private fd: number | undefined,
    readonly dataDir: string,
  ) {}

  /** Takes the lock at once or throws a DataDirLockError; it never waits for the holder. */
  static acquire(dataDir: string): DataDirLock {
    const directory = resolve(dataDir);
    const path = join(directory, LOCK_FILE_NAME);
    let fd: number;
    try {
      mkdirSync(directory, { recursive: true });
      // No O_TRUNC: until this process holds the lock, the content is the holder's.
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    } catch (error) {
      throw new DataDirLockError(
        `Could not lock DATA_DIR ${directory}: ${error instanceof Error ? error.message : String(error)}`,
        directory,
      );
    }
    const result = spawnSync('flock', ['-x', '-n', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    if (result.status === 0) {
      const holder: DataDirLockHolder = {
        pid: process.pid,
        hostname: hostname(),
        since: new Date().toISOString(),
      };
      ftruncateSync(fd, 0);
      writeSync(fd, `${JSON.stringify(holder)}\n`, 0);
      return new DataDirLock(fd, directory);
    }
    closeSync(fd);
    if (result.status === 1 && result.error === undefined) {
      throw new DataDirInUseError(directory, readHolder(path));
    }
    const reason =
      result.error === undefined
        ? `flock exited with ${String(result.status ?? result.signal)}: ${result.stderr.toString().trim()}`
        : result.error.message;
    throw new DataDirLockError(
      `Could not lock DATA_DIR ${directory} (${reason}). The embedded backend needs flock(1) from util-linux.`,
      directory,
    );
  }

  /** For a process that goes on after closing the gateway (tests); ending the process releases it too. */
  release(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

function readHolder(path: string): DataDirLockHolder | null {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as Partial<DataDirLockHolder>;
    return typeof holder.pid === 'number' &&
      typeof holder.hostname === 'string' &&
      typeof holder.since === 'string'
      ? { pid: holder.pid, hostname: holder.hostname, since: holder.since }
      : null;
  } catch {
    // Empty (the holder is between locking and writing) or not ours: the message says so.
    return null;
  }
}

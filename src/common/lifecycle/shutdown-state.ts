import { Injectable } from '@nestjs/common';

/** Set when the process has been told to stop; readiness reports it so traffic moves elsewhere. */
@Injectable()
export class ShutdownState {
  private shuttingDown = false;

  begin(): void {
    this.shuttingDown = true;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }
}

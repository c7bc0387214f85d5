import { Injectable, Logger } from '@nestjs/common';
import { type SessionRecord } from './session';

type ClosingListener = (session: SessionRecord) => Promise<void>;

/**
 * What later features do when a session closes: remediation expires its proposed plans and cancels its
 * executing one. Those features import sessions, so sessions announces the closing here instead of calling
 * them. Listeners run one after another once the close is recorded, before the close answers; one that
 * fails is logged and the others still run, as the close itself stands.
 */
@Injectable()
export class SessionClosings {
  private readonly logger = new Logger(SessionClosings.name);
  private readonly listeners = new Set<ClosingListener>();

  onClosed(listener: ClosingListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async announce(session: SessionRecord): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(session);
      } catch (error) {
        this.logger.warn(`A listener to the closing of session ${session.id} failed: ${String(error)}`);
      }
    }
  }
}

import { Injectable, Logger } from '@nestjs/common';
import { type PresenceState } from '../device';

export interface PresenceTransition {
  deviceId: string;
  customerId: string;
  from: PresenceState;
  to: PresenceState;
  lastSeenAt: Date;
  at: Date;
}

type Listener = (transition: PresenceTransition) => void;

/**
 * In-process bus for presence transitions. Each transition is made by exactly one instance (the store's
 * atomic operations decide which), and published here on that instance once; the realtime layer
 * forwards it to portals on every instance through the Socket.IO adapter.
 */
@Injectable()
export class PresenceEvents {
  private readonly logger = new Logger(PresenceEvents.name);
  private readonly listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(transition: PresenceTransition): void {
    for (const listener of this.listeners) {
      try {
        listener(transition);
      } catch (error) {
        this.logger.error(`A presence listener failed: ${String(error)}`);
      }
    }
  }
}

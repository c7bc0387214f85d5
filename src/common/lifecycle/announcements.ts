import { type Logger } from '@nestjs/common';

export type AnnouncementListener<Event> = (event: Event) => Promise<void>;

/**
 * How a feature tells later features of something that happened without importing them (they import it):
 * listeners run one after another, awaited, before the announcer goes on; one that fails is logged and the
 * others still run, as what happened stands.
 */
export class Announcements<Event> {
  private readonly listeners = new Set<AnnouncementListener<Event>>();

  constructor(
    private readonly logger: Logger,
    /** Names the event in a failed listener's warning: "the revocation of device …". */
    private readonly describe: (event: Event) => string,
  ) {}

  listen(listener: AnnouncementListener<Event>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async announce(event: Event): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(event);
      } catch (error) {
        this.logger.warn(`A listener to ${this.describe(event)} failed: ${String(error)}`);
      }
    }
  }
}

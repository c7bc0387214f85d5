import { Injectable, Logger } from '@nestjs/common';
import { Announcements, type AnnouncementListener } from '../common/lifecycle/announcements';
import { type SessionRecord } from './session';

/**
 * What later features do when a session closes: remediation expires its proposed plans and cancels its
 * executing one. Those features import sessions, so sessions announces the closing here instead of calling
 * them. Listeners run once the close is recorded, before the close answers.
 */
@Injectable()
export class SessionClosings {
  private readonly announcements = new Announcements<SessionRecord>(
    new Logger(SessionClosings.name),
    (session) => `the closing of session ${session.id}`,
  );

  onClosed(listener: AnnouncementListener<SessionRecord>): () => void {
    return this.announcements.listen(listener);
  }

  announce(session: SessionRecord): Promise<void> {
    return this.announcements.announce(session);
  }
}

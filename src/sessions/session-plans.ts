import { Injectable } from '@nestjs/common';

/** A plan as the remediation feature renders it (its Plan object); sessions only passes it through. */
export type SessionPlanView = object;

type PlansReader = (sessionId: string) => Promise<SessionPlanView[]>;

/**
 * How the session view (`GET /v1/sessions/:id`, docs/guide.md#diagnostic-sessions) includes its remediation plans, which
 * belong to a later feature that sessions may not import: remediation registers the reader here. With no
 * reader registered a session has no plans.
 */
@Injectable()
export class SessionPlans {
  private reader: PlansReader | undefined;

  provide(reader: PlansReader): () => void {
    this.reader = reader;
    return () => {
      if (this.reader === reader) this.reader = undefined;
    };
  }

  of(sessionId: string): Promise<SessionPlanView[]> {
    return this.reader ? this.reader(sessionId) : Promise.resolve([]);
  }
}

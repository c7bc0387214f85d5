import { DomainError } from '../common/errors/domain-error';
import { type ProblemCatalog } from '../common/errors/problem-catalog';

export enum SessionErrorCode {
  NotFound = 'session_not_found',
  AlreadyOpen = 'session_already_open',
  Closed = 'session_closed',
}

export const sessionProblems = {
  [SessionErrorCode.NotFound]: { status: 404, title: 'Session not found' },
  [SessionErrorCode.AlreadyOpen]: { status: 409, title: 'The device already has an open session' },
  [SessionErrorCode.Closed]: { status: 409, title: 'The session is closed' },
} satisfies ProblemCatalog<SessionErrorCode>;

export class SessionNotFoundError extends DomainError<SessionErrorCode.NotFound> {
  readonly code = SessionErrorCode.NotFound;

  constructor(sessionId: string) {
    super(`Session ${sessionId} does not exist.`);
  }
}

/** At most one open session per device (docs/guide.md#diagnostic-sessions): the problem names the open one, `openSessionId`. */
export class SessionAlreadyOpenError extends DomainError<SessionErrorCode.AlreadyOpen> {
  readonly code = SessionErrorCode.AlreadyOpen;

  constructor(
    deviceId: string,
    readonly openSessionId: string,
  ) {
    super(`Device ${deviceId} already has an open session, ${openSessionId}; close it first.`, {
      openSessionId,
    });
  }
}

export class SessionClosedError extends DomainError<SessionErrorCode.Closed> {
  readonly code = SessionErrorCode.Closed;

  constructor(sessionId: string) {
    super(`Session ${sessionId} is closed.`);
  }
}

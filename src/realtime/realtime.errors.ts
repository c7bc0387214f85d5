import { DomainError } from '../common/errors/domain-error';
import { type ProblemCatalog } from '../common/errors/problem-catalog';

export enum RealtimeErrorCode {
  UnknownEvent = 'unknown_event',
}

export const realtimeProblems = {
  [RealtimeErrorCode.UnknownEvent]: { status: 400, title: 'Unknown event' },
} satisfies ProblemCatalog<RealtimeErrorCode>;

export class UnknownEventError extends DomainError<RealtimeErrorCode.UnknownEvent> {
  readonly code = RealtimeErrorCode.UnknownEvent;

  constructor(event: string, known: readonly string[]) {
    super(`This namespace has no event "${event.slice(0, 64)}"; it accepts ${known.join(', ')}.`);
  }
}

import { DomainError } from '../common/errors/domain-error';
import { type ProblemCatalog } from '../common/errors/problem-catalog';

export enum RealtimeErrorCode {
  TooManySubscriptions = 'too_many_subscriptions',
  UnknownEvent = 'unknown_event',
}

export const realtimeProblems = {
  [RealtimeErrorCode.TooManySubscriptions]: { status: 429, title: 'Too many subscriptions on this socket' },
  [RealtimeErrorCode.UnknownEvent]: { status: 400, title: 'Unknown event' },
} satisfies ProblemCatalog<RealtimeErrorCode>;

export class TooManySubscriptionsError extends DomainError<RealtimeErrorCode.TooManySubscriptions> {
  readonly code = RealtimeErrorCode.TooManySubscriptions;

  constructor(limit: number) {
    super(`A socket may subscribe to at most ${limit} devices; unsubscribe from some first.`);
  }
}

export class UnknownEventError extends DomainError<RealtimeErrorCode.UnknownEvent> {
  readonly code = RealtimeErrorCode.UnknownEvent;

  constructor(event: string, known: readonly string[]) {
    super(`This namespace has no event "${event.slice(0, 64)}"; it accepts ${known.join(', ')}.`);
  }
}

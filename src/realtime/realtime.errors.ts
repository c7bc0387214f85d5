import { DomainError } from '../common/errors/domain-error';
import { type ProblemCatalog } from '../common/errors/problem-catalog';

export enum RealtimeErrorCode {
  TooManySubscriptions = 'too_many_subscriptions',
}

export const realtimeProblems = {
  [RealtimeErrorCode.TooManySubscriptions]: { status: 429, title: 'Too many subscriptions on this socket' },
} satisfies ProblemCatalog<RealtimeErrorCode>;

export class TooManySubscriptionsError extends DomainError<RealtimeErrorCode.TooManySubscriptions> {
  readonly code = RealtimeErrorCode.TooManySubscriptions;

  constructor(limit: number) {
    super(`A socket may subscribe to at most ${limit} devices; unsubscribe from some first.`);
  }
}

/**
 * A value now, or a promise of it. Hot paths (a heartbeat's authentication) answer synchronously when
 * they can: each promise they would otherwise build costs an allocation and a microtask per request.
 */
export type MaybePromise<T> = T | Promise<T>;

/** `next` applied to the value at once when it is already there, else once it resolves. */
export function whenReady<T, R>(
  value: MaybePromise<T>,
  next: (value: T) => MaybePromise<R>,
): MaybePromise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/** What a failed check reports: the error's message and, when it wraps another, that one's too. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) {
    return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
  }
  return String(error);
}

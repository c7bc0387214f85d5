/** A route's full path from its controller's and its own, as Nest joins them: `/a/b`, no trailing slash. */
export function joinPath(...parts: string[]): string {
  return `/${parts
    .flatMap((part) => part.split('/'))
    .filter(Boolean)
    .join('/')}`;
}

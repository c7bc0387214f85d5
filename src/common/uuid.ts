const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Any RFC 4122 textual UUID, either case: ids in URLs, credentials, token subjects and cursors. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

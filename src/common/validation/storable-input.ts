import { type FieldError } from '../errors/domain-error';

/**
 * Deepest nesting any request or event may have. The deepest real payload (a heartbeat's network
 * interfaces) nests four levels; the bound keeps recursive validators far from the stack's end.
 */
export const MAX_NESTING_DEPTH = 32;

/**
 * A NUL, or a UTF-16 surrogate without its pair (with the `u` flag a class of surrogates matches only
 * unpaired ones). PostgreSQL refuses the first in text and jsonb, and replaces or refuses the second, so
 * such a value would be a 500 or silently altered data.
 */
// eslint-disable-next-line no-control-regex -- finding NUL is the point
const UNSTORABLE = /[\u0000\uD800-\uDFFF]/u;

const UNSTORABLE_MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

/**
 * PostgreSQL stores a text value that starts with U+FEFF, but PGlite (the embedded backend) decodes each
 * value it returns as if it were a UTF-8 document and drops the character as a byte-order mark, so the
 * value would read back altered. Refused on every backend, so that what a client may send does not
 * depend on where the gateway keeps its data; the character anywhere else in a value is stored as given.
 */
const BYTE_ORDER_MARK = '\uFEFF';

const BYTE_ORDER_MARK_MESSAGE = 'must not start with a byte-order mark (U+FEFF)';

/** A value still to look at; its path is spelled out only when something in it is reported. */
interface Pending {
  value: unknown;
  parent: Pending | undefined;
  key: string | number | undefined;
  depth: number;
}

function pathOf(pending: Pending, root: string): string {
  const keys: string[] = [];
  for (let at: Pending | undefined = pending; at?.key !== undefined; at = at.parent)
    keys.push(String(at.key));
  if (root !== '') keys.push(root);
  return keys.reverse().join('.');
}

/**
 * What in a parsed JSON value (a body, a query, an event payload) the database could not store or give
 * back as given, or nests too deeply, as field errors. Iterative, so a hostile depth cannot overflow the
 * stack here.
 */
export function unstorableInput(value: unknown, root = ''): FieldError[] {
  const errors: FieldError[] = [];
  const pending: Pending[] = [{ value, parent: undefined, key: undefined, depth: 0 }];
  const fieldOf = (at: Pending): string => pathOf(at, root) || 'payload';
  // Breadth first, with an index instead of shift(): errors come out in the order of the fields.
  for (let index = 0; index < pending.length; index += 1) {
    const at = pending[index] as Pending;
    const { value: current, depth } = at;
    if (typeof current === 'string') {
      if (UNSTORABLE.test(current)) {
        const field = fieldOf(at);
        errors.push({ field, message: `${field} ${UNSTORABLE_MESSAGE}` });
      } else if (current.startsWith(BYTE_ORDER_MARK)) {
        const field = fieldOf(at);
        errors.push({ field, message: `${field} ${BYTE_ORDER_MARK_MESSAGE}` });
      }
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= MAX_NESTING_DEPTH) {
      // Named by its top-level field: the full path would be as long as the nesting.
      const field = fieldOf(at);
      const top = field.split('.')[0] ?? field;
      errors.push({ field: top, message: `${top} nests deeper than ${MAX_NESTING_DEPTH} levels` });
      continue;
    }
    if (Array.isArray(current)) {
      for (let item = 0; item < current.length; item += 1) {
        pending.push({ value: current[item] as unknown, parent: at, key: item, depth: depth + 1 });
      }
      continue;
    }
    for (const key in current) {
      if (!Object.hasOwn(current, key)) continue;
      const child: Pending = {
        value: (current as Record<string, unknown>)[key],
        parent: at,
        key,
        depth: depth + 1,
      };
      if (UNSTORABLE.test(key)) {
        errors.push({ field: pathOf(child, root), message: `property names ${UNSTORABLE_MESSAGE}` });
        continue;
      }
      pending.push(child);
    }
  }
  return errors;
}

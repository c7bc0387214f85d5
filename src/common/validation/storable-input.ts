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

interface Pending {
  value: unknown;
  path: string;
  depth: number;
}

const childPath = (parent: string, key: string | number): string =>
  parent === '' ? String(key) : `${parent}.${String(key)}`;

/**
 * What in a parsed JSON value (a body, a query, an event payload) the database could not store or give
 * back as given, or nests too deeply, as field errors. Iterative, so a hostile depth cannot overflow the
 * stack here.
 */
export function unstorableInput(value: unknown, root = ''): FieldError[] {
  // Nearly every value is clean: a walk that builds no paths says so; only a value with something to
  // report pays for the walk that names the fields.
  if (isPlainlyStorable(value)) return [];
  const errors: FieldError[] = [];
  const pending: Pending[] = [{ value, path: root, depth: 0 }];
  // Breadth first, with an index instead of shift(): errors come out in the order of the fields.
  for (let index = 0; index < pending.length; index += 1) {
    const { value: current, path, depth } = pending[index] as Pending;
    const field = path === '' ? 'payload' : path;
    if (typeof current === 'string') {
      if (UNSTORABLE.test(current)) errors.push({ field, message: `${field} ${UNSTORABLE_MESSAGE}` });
      else if (current.startsWith(BYTE_ORDER_MARK)) {
        errors.push({ field, message: `${field} ${BYTE_ORDER_MARK_MESSAGE}` });
      }
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= MAX_NESTING_DEPTH) {
      // Named by its top-level field: the full path would be as long as the nesting.
      const top = field.split('.')[0] ?? field;
      errors.push({ field: top, message: `${top} nests deeper than ${MAX_NESTING_DEPTH} levels` });
      continue;
    }
    if (Array.isArray(current)) {
      current.forEach((item: unknown, index) => {
        pending.push({ value: item, path: childPath(path, index), depth: depth + 1 });
      });
      continue;
    }
    for (const [key, item] of Object.entries(current)) {
      const itemPath = childPath(path, key);
      if (UNSTORABLE.test(key)) {
        errors.push({ field: itemPath, message: `property names ${UNSTORABLE_MESSAGE}` });
        continue;
      }
      pending.push({ value: item, path: itemPath, depth: depth + 1 });
    }
  }
  return errors;
}

/**
 * Whether unstorableInput would find nothing: the same checks and depth bound, without the field paths.
 * Iterative like it, with the depth of each pending value kept beside it.
 */
function isPlainlyStorable(value: unknown): boolean {
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const current = values.pop();
    const depth = depths.pop() ?? 0;
    if (typeof current === 'string') {
      if (UNSTORABLE.test(current) || current.startsWith(BYTE_ORDER_MARK)) return false;
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= MAX_NESTING_DEPTH) return false;
    if (Array.isArray(current)) {
      for (const item of current as unknown[]) {
        values.push(item);
        depths.push(depth + 1);
      }
      continue;
    }
    for (const key in current) {
      if (!Object.hasOwn(current, key)) continue;
      if (UNSTORABLE.test(key)) return false;
      values.push((current as Record<string, unknown>)[key]);
      depths.push(depth + 1);
    }
  }
  return true;
}

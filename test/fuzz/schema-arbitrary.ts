import fc from 'fast-check';
import { type JsonSchema, PATTERN_MESSAGE } from '../../src/common/validation/dto-schema';
import {
  CANDIDATE_CHARACTERS,
  deepNesting,
  EDGE_NUMBERS,
  hostileText,
  NUMBER_LIKE_STRINGS,
  OBJECT_BUILT_INS,
  storableCharacter,
  stringOfLength,
  TRICKY_CHARACTERS,
  UNSTORABLE_CHARACTERS,
  unknownKey,
  WRONG_TYPES,
} from './hostile-values';
import { RawJson } from './json-text';

/**
 * A generated input: the value, and the mutations made to a valid one. No mutation means the value is
 * valid against the schema and storable (no NUL, no unpaired surrogate, no leading U+FEFF), so the
 * gateway must accept it; a mutated value may still happen to be valid (`-0` where 0 is allowed), so it
 * may be accepted or refused, but never with a 5xx.
 */
export interface Generated {
  value: unknown;
  mutations: string[];
}

export interface SchemaArbitraryOptions {
  /**
   * Further valid values for a field, by dotted path ('' is the root), drawn as often as the generated
   * ones: real device ids, real tokens, which a schema cannot describe.
   */
  examples?: Record<string, fc.Arbitrary<unknown>>;
}

/** The keywords the builder understands; any other one in a DTO's schema stops it instead of being ignored. */
const KNOWN_KEYWORDS = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'anyOf',
  'enum',
  'minimum',
  'maximum',
  'items',
  'minItems',
  'maxItems',
  '$ref',
  'definitions',
  // The DTO's message for a broken pattern: no constraint of its own.
  PATTERN_MESSAGE,
]);

/** Upper bounds for generation where a schema sets none; the hostile side goes past them. */
const UNBOUNDED_STRING_LENGTH = 300;
const UNBOUNDED_ARRAY_LENGTH = 8;
const FORMATS = ['uuid', 'ipv4', 'ipv6'] as const;
type Format = (typeof FORMATS)[number];

type Path = (string | number)[];

/** Stored by PostgreSQL, but not read back at the start of a value by PGlite: the gateway refuses it there. */
const BYTE_ORDER_MARK = '\ufeff';

interface SchemaNode {
  path: Path;
  schema: JsonSchema;
}

const dotted = (path: Path): string => path.join('.');

/**
 * Arbitraries generated from a DTO's JSON Schema (jsonSchemaOf): valid values near the bounds (lengths
 * in code points at and next to the limits, numbers at their limits, -0, the largest integers), and the
 * same values with one or two nodes replaced by hostile ones (unstorable text, lengths past the limits,
 * edge numbers, wrong types, unknown and built-in keys, deep nesting, arrays for objects).
 */
export class SchemaArbitraries {
  private readonly definitions: Record<string, JsonSchema>;

  constructor(
    private readonly root: JsonSchema,
    private readonly options: SchemaArbitraryOptions = {},
  ) {
    this.definitions = (root.definitions ?? {}) as Record<string, JsonSchema>;
  }

  /** Valid, or valid with hostile mutations, in roughly equal shares. */
  fuzzed(): fc.Arbitrary<Generated> {
    const valid = this.valid(this.root, []);
    return fc.oneof(
      { arbitrary: valid.map((value) => ({ value, mutations: [] })), weight: 2 },
      {
        arbitrary: fc
          .tuple(valid, fc.integer({ min: 1, max: 2 }))
          .chain(([value, count]) => this.mutated({ value, mutations: [] }, count)),
        weight: 3,
      },
    );
  }

  /** A value the schema accepts. */
  valid(schema: JsonSchema, path: Path): fc.Arbitrary<unknown> {
    const generated = this.generateValid(this.resolve(schema), path);
    const example = this.options.examples?.[dotted(path)];
    return example ? fc.oneof(example, generated) : generated;
  }

  private mutated(input: Generated, count: number): fc.Arbitrary<Generated> {
    if (count === 0) return fc.constant(input);
    return this.pickNode(input.value, this.root, [])
      .chain((node) =>
        this.hostile(node.schema, node.path, valueAt(input.value, node.path)).map(
          ({ value, description }) => ({
            value: replaceAt(input.value, node.path, value),
            mutations: [...input.mutations, `${dotted(node.path) || '(root)'}: ${description}`],
          }),
        ),
      )
      .chain((next) => this.mutated(next, count - 1));
  }

  /**
   * A node to mutate, by a walk from the root that stops at each node with a third's chance: every
   * top-level field is as likely as the others however many nodes an array below another one holds.
   */
  private pickNode(value: unknown, schema: JsonSchema, path: Path): fc.Arbitrary<SchemaNode> {
    const resolved = this.resolve(schema);
    const here = fc.constant({ path, schema: resolved });
    const children = this.childrenOf(value, resolved, path);
    if (children.length === 0) return here;
    return fc.oneof(
      { arbitrary: here, weight: 1 },
      {
        arbitrary: fc
          .constantFrom(...children)
          .chain((child) =>
            this.pickNode(valueAt(value, child.path.slice(path.length)), child.schema, child.path),
          ),
        weight: 2,
      },
    );
  }
  private resolve(schema: JsonSchema): JsonSchema {
    for (const keyword of Object.keys(schema)) {
      if (!KNOWN_KEYWORDS.has(keyword)) {
        throw new Error(`The fuzz builder does not know the JSON Schema keyword "${keyword}"`);
      }
    }
    const ref = schema.$ref;
    if (typeof ref !== 'string') return schema;
    const name = ref.replace('#/definitions/', '');
    const target = this.definitions[name];
    if (!target) throw new Error(`No definition ${name} for ${ref}`);
    return this.resolve(target);
  }

  private generateValid(schema: JsonSchema, path: Path): fc.Arbitrary<unknown> {
    if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
    switch (schema.type) {
      case 'string':
        return this.validString(schema);
      case 'integer':
        return validInteger(schema);
      case 'number':
        return validNumber(schema);
      case 'boolean':
        return fc.boolean();
      case 'array':
        return this.validArray(schema, path);
      case 'object':
        return this.validObject(schema, path);
      default:
        throw new Error(`The fuzz builder cannot generate type ${JSON.stringify(schema.type)}`);
    }
  }

  private validString(schema: JsonSchema): fc.Arbitrary<string> {
    const formats = formatsOf(schema);
    if (formats.length > 0) return fc.oneof(...formats.map(validFormatted));
    const min = numberOr(schema.minLength, 0);
    const max = numberOr(schema.maxLength, UNBOUNDED_STRING_LENGTH);
    const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined;
    // For the character-class patterns of our DTOs, the characters matching on their own make up the class.
    const allowed = pattern
      ? CANDIDATE_CHARACTERS.filter((character) => pattern.test(character))
      : CANDIDATE_CHARACTERS;
    if (allowed.length === 0) {
      if (!pattern) throw new Error('no candidate characters');
      return fc.stringMatching(pattern).filter((text) => between(Array.from(text).length, min, max));
    }
    return nearBounds(min, max)
      .chain((length) => stringOfLength(length, storableCharacter(allowed)))
      .filter((text) => !text.startsWith(BYTE_ORDER_MARK) && (pattern?.test(text) ?? true));
  }

  private validArray(schema: JsonSchema, path: Path): fc.Arbitrary<unknown[]> {
    const min = numberOr(schema.minItems, 0);
    const max = numberOr(schema.maxItems, UNBOUNDED_ARRAY_LENGTH);
    const items = schema.items as JsonSchema;
    return nearBounds(min, max).chain((length) =>
      fc.tuple(...Array.from({ length }, (_, index) => this.valid(items, [...path, index]))),
    );
  }

  private validObject(schema: JsonSchema, path: Path): fc.Arbitrary<Record<string, unknown>> {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const required = (schema.required ?? []) as string[];
    const model = Object.fromEntries(
      Object.entries(properties).map(([key, property]) => [key, this.valid(property, [...path, key])]),
    );
    return fc.record(model, { requiredKeys: required });
  }

  /** The direct children of a (valid) value's node, with their schemas. */
  private childrenOf(value: unknown, schema: JsonSchema, path: Path): SchemaNode[] {
    if (Array.isArray(value) && schema.type === 'array') {
      return value.map((_, index) => ({ path: [...path, index], schema: schema.items as JsonSchema }));
    }
    if (isPlainObject(value) && schema.type === 'object') {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      return Object.keys(value).flatMap((key) => {
        const property = properties[key];
        return property ? [{ path: [...path, key], schema: property }] : [];
      });
    }
    return [];
  }

  /** A replacement for one node: something its schema refuses, or a spelling at the edge of it. */
  private hostile(
    schema: JsonSchema,
    path: Path,
    current: unknown,
  ): fc.Arbitrary<{ value: unknown; description: string }> {
    const generic = fc.oneof(
      fc.constantFrom(...WRONG_TYPES).map((value) => ({ value, description: 'a wrong type' })),
      deepNesting.map((value) => ({ value, description: 'deep nesting' })),
      fc.constant({ value: [current], description: 'wrapped in an array' }),
      fc.constantFrom(...OBJECT_BUILT_INS).map((value) => ({ value, description: 'a built-in name' })),
    );
    const specific = this.hostileOfType(schema, path, current);
    return fc.oneof({ arbitrary: generic, weight: 1 }, { arbitrary: specific, weight: 3 });
  }

  private hostileOfType(
    schema: JsonSchema,
    path: Path,
    current: unknown,
  ): fc.Arbitrary<{ value: unknown; description: string }> {
    if (Array.isArray(schema.enum)) {
      const values = schema.enum as unknown[];
      return fc
        .oneof(
          fc
            .constantFrom(...values)
            .map((value) => (typeof value === 'string' ? value.toUpperCase() : value)),
          fc.constantFrom(...values).map((value) => `${String(value)}\u0000`),
          hostileText,
        )
        .map((value) => ({ value, description: 'not one of the allowed values' }));
    }
    switch (schema.type) {
      case 'string':
        return hostileString(schema, typeof current === 'string' ? current : '');
      case 'integer':
      case 'number':
        return hostileNumber(schema);
      case 'boolean':
        return fc
          .constantFrom('true', 0, 1, 'false', null)
          .map((value) => ({ value, description: 'a boolean spelled otherwise' }));
      case 'array':
        return this.hostileArray(schema, path, current);
      case 'object':
        return this.hostileObject(schema, current);
      default:
        return fc.constant({ value: null, description: 'null' });
    }
  }

  private hostileArray(
    schema: JsonSchema,
    path: Path,
    current: unknown,
  ): fc.Arbitrary<{ value: unknown; description: string }> {
    const items: unknown[] = Array.isArray(current) ? current : [];
    const max = numberOr(schema.maxItems, UNBOUNDED_ARRAY_LENGTH * 8);
    return fc.oneof(
      this.valid(schema.items as JsonSchema, [...path, 0]).map((item) => ({
        value: Array.from({ length: max + 1 }, () => item),
        description: `${max + 1} items`,
      })),
      fc.constant({
        value: Object.fromEntries(items.map((item, index) => [index, item])),
        description: 'an object',
      }),
      fc.constant({ value: [...items, ...items], description: 'duplicated items' }),
    );
  }

  private hostileObject(
    schema: JsonSchema,
    current: unknown,
  ): fc.Arbitrary<{ value: unknown; description: string }> {
    const own = isPlainObject(current) ? Object.entries(current) : [];
    const known = Object.keys(schema.properties ?? {});
    const required = (schema.required ?? []) as string[];
    const addKey = fc
      .tuple(unknownKey(known), fc.oneof(fc.constant('x'), hostileText, fc.constantFrom(...WRONG_TYPES)))
      .map(([key, value]) => ({
        // Object.fromEntries makes `__proto__` an own key, as JSON.parse does on the server.
        value: Object.fromEntries([...own, [key, value]]),
        description: `unknown key ${JSON.stringify(key)}`,
      }));
    const options = [
      { arbitrary: addKey, weight: 4 },
      {
        arbitrary: fc.constant({
          value: own.map(([, value]) => value),
          description: 'an array of its values',
        }),
        weight: 1,
      },
    ];
    if (required.length > 0) {
      options.push({
        arbitrary: fc.constantFrom(...required).map((missing) => ({
          value: Object.fromEntries(own.filter(([key]) => key !== missing)),
          description: `without ${missing}`,
        })),
        weight: 2,
      });
    }
    return fc.oneof(...options);
  }
}

function hostileString(
  schema: JsonSchema,
  current: string,
): fc.Arbitrary<{ value: unknown; description: string }> {
  const min = numberOr(schema.minLength, 0);
  const max = numberOr(schema.maxLength, UNBOUNDED_STRING_LENGTH);
  // Code points, as PostgreSQL and the schemas count them.
  const characters = Array.from(current);
  const options: fc.Arbitrary<{ value: unknown; description: string }>[] = [
    fc
      .tuple(fc.constantFrom(...UNSTORABLE_CHARACTERS), fc.integer({ min: 0, max: characters.length }))
      .map(([bad, at]) => ({
        value: [...characters.slice(0, at), bad, ...characters.slice(at)].join(''),
        description: `${JSON.stringify(bad)} inserted`,
      })),
    fc
      .tuple(fc.integer({ min: 1, max: 2 }), fc.constantFrom('x', ...TRICKY_CHARACTERS))
      .map(([extra, character]) => {
        // `current` may be over the limit already, from an earlier mutation of the same node.
        const value = current + character.repeat(Math.max(0, max - characters.length) + extra);
        return { value, description: `${Array.from(value).length} code points` };
      }),
    fc.constant({ value: `${BYTE_ORDER_MARK}${current}`, description: 'a leading byte-order mark' }),
    hostileText.map((value) => ({ value, description: 'hostile text' })),
    fc.constantFrom(...NUMBER_LIKE_STRINGS).map((value) => ({ value, description: 'a number-like string' })),
    fc.constantFrom(1, -0, new RawJson('1e999')).map((value) => ({ value, description: 'a number' })),
  ];
  if (min > 0) options.push(fc.constant({ value: '', description: 'empty' }));
  if (typeof schema.pattern === 'string') {
    const pattern = new RegExp(schema.pattern, 'u');
    const outside = CANDIDATE_CHARACTERS.filter((character) => !pattern.test(character));
    if (outside.length > 0) {
      options.push(
        fc.constantFrom(...outside).map((character) => ({
          value: `${current}${character}`,
          description: `${JSON.stringify(character)} outside the pattern`,
        })),
      );
    }
  }
  for (const format of formatsOf(schema)) options.push(nearlyFormatted(format, current));
  return fc.oneof(...options);
}

function hostileNumber(schema: JsonSchema): fc.Arbitrary<{ value: unknown; description: string }> {
  const edges: unknown[] = [...EDGE_NUMBERS];
  if (typeof schema.minimum === 'number') edges.push(schema.minimum - 1, schema.minimum - 1e-9);
  if (typeof schema.maximum === 'number') edges.push(schema.maximum + 1, schema.maximum + 1e-9);
  if (schema.type === 'integer') {
    const base = numberOr(schema.minimum, 0);
    edges.push(base + 0.5, new RawJson(`${base}.0`), new RawJson(`${base}e0`));
  }
  return fc.oneof(
    {
      arbitrary: fc.constantFrom(...edges).map((value) => ({ value, description: 'an edge number' })),
      weight: 3,
    },
    {
      arbitrary: fc
        .constantFrom(...NUMBER_LIKE_STRINGS)
        .map((value) => ({ value, description: 'a number as a string' })),
      weight: 1,
    },
  );
}

function validInteger(schema: JsonSchema): fc.Arbitrary<number> {
  const min = numberOr(schema.minimum, -Number.MAX_SAFE_INTEGER);
  const max = numberOr(schema.maximum, Number.MAX_SAFE_INTEGER);
  // Beyond the safe range every double is an integer: an unbounded integer field takes them too.
  const huge = [Number.MAX_SAFE_INTEGER, 2 ** 53, 1e21, 1e308].filter((value) => between(value, min, max));
  const edges = [min, min + 1, max - 1, max, 0, ...huge].filter(
    (value) => between(value, min, max) && Number.isInteger(value),
  );
  return fc.oneof(
    fc.constantFrom(...edges),
    fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) }),
  );
}

function validNumber(schema: JsonSchema): fc.Arbitrary<number> {
  const min = numberOr(schema.minimum, -Number.MAX_VALUE);
  const max = numberOr(schema.maximum, Number.MAX_VALUE);
  const edges = [min, max, 0, -0, Number.MIN_VALUE, 0.1, min + 1e-9, max - 1e-9, (min + max) / 2].filter(
    (value) => between(value, min, max),
  );
  return fc.oneof(fc.constantFrom(...edges), fc.double({ min, max, noNaN: true, noDefaultInfinity: true }));
}

/** Lengths at and next to the bounds, or anywhere between. */
function nearBounds(min: number, max: number): fc.Arbitrary<number> {
  const edges = [min, min + 1, max - 1, max].filter((value) => between(value, min, max));
  return fc.oneof(fc.constantFrom(...edges), fc.integer({ min, max }));
}

/** The formats a string must have (one of); a format the builder cannot generate stops it. */
function formatsOf(schema: JsonSchema): Format[] {
  const named = [schema.format, ...((schema.anyOf ?? []) as JsonSchema[]).map((option) => option.format)];
  return named
    .filter((format) => format !== undefined)
    .map((format) => {
      if (!FORMATS.includes(format as Format)) {
        throw new Error(`The fuzz builder cannot generate the format ${JSON.stringify(format)}`);
      }
      return format as Format;
    });
}

function validFormatted(format: Format): fc.Arbitrary<string> {
  switch (format) {
    case 'uuid':
      return fc.uuid();
    case 'ipv4':
      return fc.ipV4();
    case 'ipv6':
      return fc.ipV6();
  }
}

function nearlyFormatted(
  format: Format,
  current: string,
): fc.Arbitrary<{ value: unknown; description: string }> {
  const variants =
    format === 'uuid'
      ? [
          current.toUpperCase(),
          `{${current}}`,
          `urn:uuid:${current}`,
          current.replaceAll('-', ''),
          `${current}0`,
          current.slice(1),
          '00000000-0000-0000-0000-000000000000',
          'ffffffff-ffff-ffff-ffff-ffffffffffff',
        ]
      : format === 'ipv4'
        ? ['256.1.1.1', '1.2.3', '01.2.3.4', '0x7f.0.0.1', ' 1.2.3.4', '1.2.3.4/24', `${current}.1`]
        : ['::ffff:1.2.3.4', '1::2::3', 'fe80::1%eth0', `[${current}]`, `${current}:`, '::g'];
  return fc.constantFrom(...variants).map((value) => ({ value, description: `a near-${format}` }));
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

function between(value: number, min: number, max: number): boolean {
  return value >= min && value <= max;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof RawJson);
}

function valueAt(value: unknown, path: Path): unknown {
  let current = value;
  for (const key of path) current = (current as Record<string | number, unknown>)[key];
  return current;
}

/** A copy of `value` with the node at `path` replaced; own `__proto__` keys survive (Object.fromEntries). */
function replaceAt(value: unknown, path: Path, replacement: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return replacement;
  if (Array.isArray(value)) {
    return value.map((item: unknown, index) => (index === head ? replaceAt(item, rest, replacement) : item));
  }
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, item]) => [
      key,
      key === head ? replaceAt(item, rest, replacement) : item,
    ]),
  );
}

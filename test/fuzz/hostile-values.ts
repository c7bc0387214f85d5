import fc from 'fast-check';
import { RawJson } from './json-text';

/** Names an object inherits: a validator that reads `body[key]` finds something there without an own key. */
export const OBJECT_BUILT_INS = [
  'constructor',
  'prototype',
  '__proto__',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  '__lookupSetter__',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
] as const;

/** What PostgreSQL refuses in text and jsonb (NUL) or cannot represent (a surrogate without its pair). */
export const UNSTORABLE_CHARACTERS = ['\u0000', '\ud83d', '\ude00', '\udbff', '\udc00'] as const;

/**
 * Characters PostgreSQL stores as given but that tempt code to count, compare or print them differently:
 * an astral pair (two UTF-16 units, one code point), combining marks, variation selectors (which
 * validator.js leaves out of a length), bidirectional controls, zero-width and line separators, the
 * BOM, noncharacters, and the characters that mean something in URLs, JSON, SQL and our cursor format.
 */
export const TRICKY_CHARACTERS = [
  '\u{1f600}',
  '\u{10ffff}',
  '\u0301',
  '\u20dd',
  '\ufe0f',
  '\ufe0e',
  '\u200f',
  '\u202e',
  '\u2066',
  '\u200d',
  '\u200b',
  '\ufeff',
  '\u2028',
  '\u00a0',
  '\ufffd',
  '\uffff',
  '\ufffe',
  '\u0001',
  '\u001f',
  '\u007f',
  '\u0085',
  'é',
  'ß',
  'İ',
  '"',
  "'",
  '\\',
  '%',
  '|',
  '/',
  '?',
  '#',
  '&',
  '=',
  '+',
  ';',
  ' ',
  '\t',
  '\n',
  '\r',
] as const;

const PRINTABLE_ASCII = Array.from({ length: 0x7f - 0x20 }, (_, index) => String.fromCharCode(0x20 + index));

/** Every candidate character the generators draw from, each one code point. */
export const CANDIDATE_CHARACTERS: readonly string[] = [...PRINTABLE_ASCII, ...TRICKY_CHARACTERS];

/** One storable character: mostly printable ASCII, often a tricky one. */
export const storableCharacter = (
  allowed: readonly string[] = CANDIDATE_CHARACTERS,
): fc.Arbitrary<string> => {
  const ascii = allowed.filter((character) => PRINTABLE_ASCII.includes(character));
  const tricky = allowed.filter((character) => !PRINTABLE_ASCII.includes(character));
  return fc.oneof(
    { arbitrary: fc.constantFrom(...(ascii.length > 0 ? ascii : allowed)), weight: 3 },
    { arbitrary: fc.constantFrom(...(tricky.length > 0 ? tricky : allowed)), weight: 1 },
  );
};

/** A string of exactly `length` code points drawn from `character`. */
export const stringOfLength = (length: number, character: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.array(character, { minLength: length, maxLength: length }).map((characters) => characters.join(''));

/** Any text from the hostile alphabet, unstorable characters included, short or very long. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc
      .array(
        fc.oneof(
          { arbitrary: storableCharacter(), weight: 4 },
          { arbitrary: fc.constantFrom(...UNSTORABLE_CHARACTERS), weight: 1 },
        ),
        { maxLength: 40 },
      )
      .map((characters) => characters.join('')),
    weight: 8,
  },
  { arbitrary: fc.constantFrom(...OBJECT_BUILT_INS), weight: 1 },
  {
    arbitrary: fc
      .tuple(
        fc.constantFrom('x', '\u{1f600}', 'e\u0301', '\ufe0f', '\u0000'),
        fc.integer({ min: 200, max: 20_000 }),
      )
      .map(([unit, count]) => unit.repeat(count)),
    weight: 1,
  },
);

/**
 * Number spellings and values at the edges of what JSON, JavaScript and PostgreSQL agree on. RawJson
 * ones reach the server as written: 1e999 parses to Infinity, -0 to negative zero, 9007199254740993 to
 * 9007199254740992, 1e-400 to 0.
 */
export const EDGE_NUMBERS: readonly unknown[] = [
  new RawJson('1e999'),
  new RawJson('-1e999'),
  new RawJson('-0'),
  new RawJson('-0.0'),
  new RawJson('1e-400'),
  new RawJson('9007199254740993'),
  new RawJson('1E2'),
  new RawJson('0.1e1'),
  Number.MAX_SAFE_INTEGER + 2,
  Number.MAX_SAFE_INTEGER,
  1e308,
  -1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  1e21,
  0.1,
  0.5,
  -1,
  2 ** 31,
  2 ** 32 + 0.5,
];

/** Strings a lenient number parser reads as numbers. */
export const NUMBER_LIKE_STRINGS = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  '-0',
  '0x10',
  '0b11',
  '1_000',
  ' 5',
  '5 ',
  '+5',
  '5.0',
  '05',
  '1e2',
  '',
  '9007199254740993',
  '١',
] as const;

/** Values of every JSON type, for a field that expects another. */
export const WRONG_TYPES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  1,
  '',
  'x',
  [],
  {},
  [null],
  { value: 1 },
];

/** `depth` levels of objects (or arrays) around a 1, as text so that building it costs no recursion. */
export const deeplyNested = (depth: number, kind: 'object' | 'array'): RawJson =>
  kind === 'object'
    ? new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)
    : new RawJson(`${'['.repeat(depth)}1${']'.repeat(depth)}`);

export const deepNesting: fc.Arbitrary<RawJson> = fc
  .tuple(fc.constantFrom(31, 32, 33, 100, 5000), fc.constantFrom('object' as const, 'array' as const))
  .map(([depth, kind]) => deeplyNested(depth, kind));

/** A field name nobody declared: built-ins, hostile text, and near-misses of real names. */
export const unknownKey = (known: readonly string[]): fc.Arbitrary<string> =>
  fc
    .oneof(
      { arbitrary: fc.constantFrom(...OBJECT_BUILT_INS), weight: 3 },
      { arbitrary: hostileText, weight: 2 },
      ...(known.length > 0
        ? [
            {
              arbitrary: fc
                .constantFrom(...known)
                .chain((name) =>
                  fc.constantFrom(
                    name.toUpperCase(),
                    `${name} `,
                    `${name}\u0000`,
                    `${name}\u200b`,
                    `$${name}`,
                  ),
                ),
              weight: 2,
            },
          ]
        : []),
    )
    .filter((key) => !known.includes(key));

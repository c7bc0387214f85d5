import { toStringMethod } from 'fast-check';

/**
 * A piece of JSON written as given: number spellings that JSON.stringify cannot produce (`1e999`, `-0`,
 * `9007199254740993`) but that a client can send, and that JSON.parse turns into Infinity, -0 or a
 * rounded integer on the server.
 */
export class RawJson {
  constructor(readonly text: string) {}

  /** How fast-check prints it in a counterexample. */
  [toStringMethod](): string {
    return `RawJson(${this.text.length > 40 ? `${this.text.slice(0, 40)}… ${this.text.length} characters` : this.text})`;
  }
}

/**
 * JSON text of a generated value. Own keys are written whatever they are named (`__proto__` included,
 * which JSON.stringify would also write, but an object literal cannot hold), lone surrogates are escaped
 * as JSON.stringify escapes them, and RawJson pieces are written verbatim.
 */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}:${toJsonText(item)}`);
    return `{${members.join(',')}}`;
  }
  if (value === undefined) return 'null';
  return JSON.stringify(value);
}

/** What the server holds after parsing the text: the value a stored copy must equal. */
export function parsedOnServer(value: unknown): unknown {
  return JSON.parse(toJsonText(value));
}

/**
 * The value as jsonb may hand it back without altering it: jsonb has no -0 (it reads back as 0) and no
 * key order (toEqual ignores order). Nothing else is mapped, so an Infinity that came back as null still
 * fails the comparison, which a JSON round trip of the expected value would hide.
 */
export function jsonbEquivalent(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(jsonbEquivalent);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, jsonbEquivalent(item)]));
  }
  return value;
}

/**
 * A string as UTF-8 percent-escapes, for URLs. A lone surrogate is written as the three bytes a
 * careless encoder produces for it (WTF-8), which no UTF-8 decoder accepts; encodeURIComponent would
 * throw instead.
 */
export function percentEncode(text: string, keep: RegExp = /[A-Za-z0-9\-_.~]/): string {
  let encoded = '';
  for (const character of text) {
    if (keep.test(character)) {
      encoded += character;
      continue;
    }
    const point = character.codePointAt(0) ?? 0;
    encoded += utf8Bytes(point)
      .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
      .join('');
  }
  return encoded;
}

function utf8Bytes(point: number): number[] {
  if (point < 0x80) return [point];
  if (point < 0x800) return [0xc0 | (point >> 6), 0x80 | (point & 0x3f)];
  if (point < 0x10000) {
    return [0xe0 | (point >> 12), 0x80 | ((point >> 6) & 0x3f), 0x80 | (point & 0x3f)];
  }
  return [
    0xf0 | (point >> 18),
    0x80 | ((point >> 12) & 0x3f),
    0x80 | ((point >> 6) & 0x3f),
    0x80 | (point & 0x3f),
  ];
}

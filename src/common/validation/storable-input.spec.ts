import { MAX_NESTING_DEPTH, unstorableInput } from './storable-input';

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let level = 0; level < depth; level += 1) value = { a: value };
  return value;
}

describe('unstorableInput', () => {
  it('accepts text PostgreSQL stores as given, astral characters and variation selectors included', () => {
    expect(unstorableInput({ name: 'pi 😀 \ufe0f', tags: ['é', 'ß'], n: 1, ok: true, none: null })).toEqual(
      [],
    );
  });

  it('names every field holding a NUL or an unpaired surrogate, at any depth and in arrays', () => {
    const errors = unstorableInput({
      name: 'a\u0000b',
      hardware: { os: 'linux\ud800' },
      interfaces: [{ name: 'ok' }, { name: '\udc00eth' }],
    });

    expect(errors.map((error) => error.field)).toEqual(['name', 'hardware.os', 'interfaces.1.name']);
  });

  it('refuses text that starts with a byte-order mark, which the embedded backend would read back without it', () => {
    expect(unstorableInput({ name: '\ufeffpi', hardware: { os: '\ufeff' } })).toEqual([
      { field: 'name', message: 'name must not start with a byte-order mark (U+FEFF)' },
      { field: 'hardware.os', message: 'hardware.os must not start with a byte-order mark (U+FEFF)' },
    ]);
    expect(unstorableInput({ name: 'pi\ufeff', tags: ['a\ufeffb'] })).toEqual([]);
  });

  it('refuses property names the database could not store', () => {
    expect(unstorableInput({ ['bad\u0000key']: 1 }).map((error) => error.field)).toEqual(['bad\u0000key']);
  });

  it('names a bare value "payload"', () => {
    expect(unstorableInput('\u0000')).toEqual([{ field: 'payload', message: expect.any(String) as unknown }]);
  });

  it(`stops at ${MAX_NESTING_DEPTH} levels of nesting, naming the top-level field, without recursion`, () => {
    expect(unstorableInput({ extra: nested(MAX_NESTING_DEPTH - 1) })).toEqual([]);
    expect(unstorableInput({ extra: nested(100_000) })).toEqual([
      { field: 'extra', message: `extra nests deeper than ${MAX_NESTING_DEPTH} levels` },
    ]);
  });
});

import { AuthFailure } from '../auth.errors';
import { parseBearer } from './bearer';
import { parseBasic } from './device.strategy';

const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

describe('parseBasic', () => {
  it('splits id and secret at the first colon', () => {
    expect(parseBasic(basic('device-id:se:cret'))).toEqual({ id: 'device-id', secret: 'se:cret' });
    expect(parseBasic(`basic ${Buffer.from('a:b').toString('base64')}`)).toEqual({ id: 'a', secret: 'b' });
  });

  it.each([
    [undefined, 'missing'],
    ['Basic', 'malformed'],
    ['Bearer abc', 'malformed'],
    ['Basic ***', 'malformed'],
    [basic('no-colon'), 'malformed'],
    [basic(':secret'), 'malformed'],
    [basic('id:'), 'malformed'],
    [`Basic ${'A'.repeat(5000)}`, 'malformed'],
  ])('refuses %p as %s', (header, reason) => {
    const result = parseBasic(header);
    expect(result).toBeInstanceOf(AuthFailure);
    expect((result as AuthFailure).reason).toBe(reason);
  });
});

describe('parseBearer', () => {
  it('takes the token after the scheme', () => {
    expect(parseBearer('Bearer abc.def.ghi')).toBe('abc.def.ghi');
  });

  it.each([
    [undefined, 'missing'],
    ['Bearer', 'malformed'],
    ['Bearer two words', 'malformed'],
    ['Basic abc', 'malformed'],
  ])('refuses %p as %s', (header, reason) => {
    expect((parseBearer(header) as AuthFailure).reason).toBe(reason);
  });
});

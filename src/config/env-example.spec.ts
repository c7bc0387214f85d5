import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configVariables } from './app-config';

/** `.env.example` promises every variable the gateway reads, each with its default or empty. */
describe('.env.example', () => {
  const listed = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8')
    .split('\n')
    .map((line) => /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);

  it('lists every variable the configuration reads', () => {
    expect(configVariables().filter((name) => !listed.includes(name))).toEqual([]);
  });

  it('lists nothing the configuration does not read, and nothing twice', () => {
    const known = new Set(configVariables());
    expect(listed.filter((name) => !known.has(name))).toEqual([]);
    expect(listed.filter((name, index) => listed.indexOf(name) !== index)).toEqual([]);
  });
});

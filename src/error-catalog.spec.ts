import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ERROR_CATALOG } from './error-catalog';

/** Every `*.errors.ts` file under src/, where features declare their error codes. */
function errorModules(directory = __dirname): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return errorModules(path);
    return entry.name.endsWith('.errors.ts') ? [path] : [];
  });
}

/** The values of every exported enum named `…ErrorCode` in a module. */
async function declaredCodes(path: string): Promise<string[]> {
  const exports = (await import(path)) as Record<string, unknown>;
  return Object.entries(exports)
    .filter(([name, value]) => name.endsWith('ErrorCode') && typeof value === 'object' && value !== null)
    .flatMap(([, value]) => Object.values(value as Record<string, unknown>))
    .filter((code): code is string => typeof code === 'string');
}

describe('ERROR_CATALOG', () => {
  it('maps every error code a feature declares, so no domain error is answered as a 500', async () => {
    const modules = errorModules();
    expect(modules.map((path) => relative(__dirname, path))).toEqual(
      expect.arrayContaining(['auth/auth.errors.ts', 'devices/devices.errors.ts']),
    );
    const unmapped: string[] = [];
    for (const path of modules) {
      for (const code of await declaredCodes(path)) {
        if (!Object.hasOwn(ERROR_CATALOG, code)) unmapped.push(`${relative(__dirname, path)}: ${code}`);
      }
    }
    expect(unmapped).toEqual([]);
  });

  it('answers every 403 with the one code "forbidden"', () => {
    const forbiddenCodes = Object.entries(ERROR_CATALOG)
      .filter(([, spec]) => spec.status === 403)
      .map(([code]) => code);

    expect(forbiddenCodes).toEqual(['forbidden']);
  });
});

import { ERROR_CATALOG } from './error-catalog';

describe('ERROR_CATALOG', () => {
  it('answers every 403 with the one code "forbidden"', () => {
    const forbiddenCodes = Object.entries(ERROR_CATALOG)
      .filter(([, spec]) => spec.status === 403)
      .map(([code]) => code);

    expect(forbiddenCodes).toEqual(['forbidden']);
  });
});

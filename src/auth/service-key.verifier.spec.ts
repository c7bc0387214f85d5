import { loadConfig } from '../config/app-config';
import { AuthFailure } from './auth.errors';
import { ServiceKeyVerifier } from './service-key.verifier';

const PLANNER_KEY = 'p'.repeat(40);
const REPORTS_KEY = 'r'.repeat(48);

describe('ServiceKeyVerifier', () => {
  const verifier = new ServiceKeyVerifier(
    loadConfig({ SERVICE_KEYS: `planner:${PLANNER_KEY},reports:${REPORTS_KEY}` }),
  );

  it('names the service whose key was presented', () => {
    expect(verifier.verify(PLANNER_KEY)).toEqual({ kind: 'service', name: 'planner' });
    expect(verifier.verify(REPORTS_KEY)).toEqual({ kind: 'service', name: 'reports' });
  });

  it.each(['', 'p', PLANNER_KEY.slice(1), `${PLANNER_KEY}x`, PLANNER_KEY.toUpperCase()])(
    'refuses %p',
    (key) => {
      expect(verifier.verify(key)).toBeInstanceOf(AuthFailure);
    },
  );

  it('refuses everything when no key is configured', () => {
    expect(new ServiceKeyVerifier(loadConfig({})).verify(PLANNER_KEY)).toBeInstanceOf(AuthFailure);
  });
});

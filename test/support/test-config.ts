import { type AppConfig, loadConfig } from '../../src/config/app-config';

/**
 * Values for variables a non-embedded deployment must set but a storage or cache suite does not exercise.
 * loadConfig reads only the variables it knows, so an entry here that a version does not know is ignored.
 */
const REQUIRED_ELSEWHERE: Record<string, string> = {
  SUPABASE_URL: 'http://127.0.0.1:9/unused-by-this-suite',
  DEVICE_SECRET_PEPPER: 'test-pepper-0123456789abcdef0123456789abcdef',
  LOG_LEVEL: 'silent',
};

/** A validated AppConfig for a test, built exactly as production builds it, from environment-style values. */
export function testConfig(env: Record<string, string>): AppConfig {
  return loadConfig({ ...REQUIRED_ELSEWHERE, ...env });
}

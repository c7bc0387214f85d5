import { type AppConfig, loadConfig } from './app-config';

/** The one place that reads process.env. */
export function loadConfigFromEnvironment(): AppConfig {
  return loadConfig(process.env);
}

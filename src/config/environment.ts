import { type AppConfig, loadConfig } from './app-config';
import { type UnknownVariable, unknownVariables } from './unknown-variables';

/** The one place that reads process.env. */
export function loadConfigFromEnvironment(): AppConfig {
  return loadConfig(process.env);
}

/** Variables of the environment that look like the gateway's but that it does not read. */
export function unknownVariablesInEnvironment(): UnknownVariable[] {
  return unknownVariables(process.env);
}

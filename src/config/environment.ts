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

/** DATABASE_URL as set, for tools that take the database from the environment when not told otherwise. */
export function databaseUrlFromEnvironment(): string | undefined {
  return process.env.DATABASE_URL;
}

/** This process's environment with `extra` added, for a child process the gateway's tools start. */
export function environmentWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}

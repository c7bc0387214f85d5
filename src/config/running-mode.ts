import { type AppConfig, CacheBackend, DataBackend } from './app-config';

/** One sentence for the start-up log saying which backends run, so nobody mistakes a dev setup for prod. */
export function describeRunningMode(config: AppConfig): string {
  const data = {
    [DataBackend.Embedded]: `data: embedded PGlite in ${config.DATA_DIR}`,
    [DataBackend.Postgres]: 'data: postgres (DATABASE_URL)',
    [DataBackend.Supabase]: `data: supabase at ${config.SUPABASE_URL ?? ''}`,
  }[config.DATA_BACKEND];
  const cache = {
    [CacheBackend.Memory]: 'cache: memory (single instance only)',
    [CacheBackend.Redis]: 'cache: redis',
  }[config.CACHE_BACKEND];
  const defaults =
    config.DATA_BACKEND === DataBackend.Embedded && config.CACHE_BACKEND === CacheBackend.Memory
      ? ' — embedded + memory defaults, for development and evaluation'
      : '';
  return `${data}, ${cache}${defaults}`;
}

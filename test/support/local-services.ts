/** Where the services every developer and CI machine runs listen (README, "Two commands"; .ci/run starts them on a clean machine). */
export const LOCAL_POSTGRES = { host: '127.0.0.1', port: 5432, superuser: 'postgres' } as const;

export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';

/** A connection URL for a database on the local PostgreSQL; trust auth, so no password. */
export function localDatabaseUrl(database: string, user: string = LOCAL_POSTGRES.superuser): string {
  return `postgresql://${user}@${LOCAL_POSTGRES.host}:${LOCAL_POSTGRES.port}/${database}`;
}

/** Readiness probe of the configured data backend. */
export abstract class DataHealth {
  /** Resolves when the backend answers a trivial query; rejects otherwise. */
  abstract check(): Promise<void>;
}

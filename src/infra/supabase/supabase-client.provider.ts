import { Inject, type Provider } from '@nestjs/common';
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { AppConfig } from '../../config/app-config';
import { type MetricsService, OPTIONAL_METRICS } from '../metrics/metrics.service';
import { observedFetch } from './observed-fetch';

export const SUPABASE_CLIENT = Symbol('SUPABASE_CLIENT');

export const InjectSupabase = (): ParameterDecorator => Inject(SUPABASE_CLIENT);

/**
 * One service-role client per process. It never signs in: a stored session would replace the service key.
 * Its requests are timed through observedFetch. Realtime is unused, but supabase-js on Node 20 refuses to start without a WebSocket implementation.
 */
export const supabaseClientProvider: Provider = {
  provide: SUPABASE_CLIENT,
  inject: [AppConfig, OPTIONAL_METRICS],
  useFactory: (config: AppConfig, metrics?: MetricsService) =>
    createClient(config.SUPABASE_URL ?? '', config.SUPABASE_SERVICE_ROLE_KEY ?? '', {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      db: { timeout: config.DATABASE_TIMEOUT_MS },
      global: metrics ? { fetch: observedFetch(metrics) } : {},
      realtime: { transport: WebSocket as never },
    }),
};

import { type CallObserver, type DataCallOperation, type MetricsService } from '../metrics/metrics.service';

/**
 * The fetch supabase-js makes every data API request with: the one place all of the supabase adapters'
 * calls pass, table requests and `rpc` alike, so that each is timed and its failure counted without the
 * adapters knowing. Requests outside the data API (/rest/v1) pass unobserved.
 */
export function observedFetch(metrics: MetricsService, fetch: typeof globalThis.fetch = globalThis.fetch) {
  const series: Readonly<Record<'rpc' | 'read' | 'write', CallObserver>> = {
    rpc: metrics.dataCalls('supabase', 'rpc'),
    read: metrics.dataCalls('supabase', 'read'),
    write: metrics.dataCalls('supabase', 'write'),
  };
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const operation = operationOf(input, init);
    if (!operation) return fetch(input, init);
    const observer = series[operation];
    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(input, init);
    } catch (error) {
      observer.settled(started, 'unavailable');
      throw error;
    }
    // PostgREST answers 5xx when it cannot reach or use the database, 4xx when the database refused.
    observer.settled(
      started,
      response.status >= 500 ? 'unavailable' : response.status >= 400 ? 'refused' : undefined,
    );
    return response;
  };
}

function operationOf(
  input: string | URL | Request,
  init: RequestInit | undefined,
): Exclude<DataCallOperation, 'query' | 'script'> | undefined {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (!url.includes('/rest/v1/')) return undefined;
  if (url.includes('/rest/v1/rpc/')) return 'rpc';
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

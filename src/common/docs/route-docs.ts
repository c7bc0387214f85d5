import { SetMetadata } from '@nestjs/common';
import { type AnySchema } from './typed-schema';

/** One answer of a route: what it means and, unless it has no body (204), its schema. */
export interface ResponseDocs {
  description: string;
  schema?: AnySchema;
  /** The body's media type when it is not JSON (the metrics text, the docs page). */
  contentType?: string;
  /** Response headers the route sets, by name, with what they mean. */
  headers?: Record<string, string>;
}

/**
 * What the API document says of a route beyond what the gateway reads off it (method, path, principals,
 * body, query and path parameters, headers it reads): one declaration beside the route. Problem answers
 * (400 for a route that takes input, 401 for an authenticated one, 404 for one with path parameters, 503)
 * are added for every route; `problems` names the statuses particular to this one.
 */
export interface RouteDocs {
  summary: string;
  description?: string;
  /** Groups the route in the document; by default its path's first segment after `/v1`. */
  tag?: string;
  /** Every success answer, by status. */
  responses: Partial<Record<number, ResponseDocs>>;
  /** Error statuses of this route beyond the common ones, with when they happen. */
  problems?: Partial<Record<number, string>>;
  /** What each request header the route reads (`@Headers(name)`) means, by lower-case name. */
  headers?: Record<string, string>;
}

export const ROUTE_DOCS = 'docs:route';

/** Documents a Nest route (see RouteDocs). */
export const Documented = (docs: RouteDocs): MethodDecorator => SetMetadata(ROUTE_DOCS, docs);

/** How a route registered with Fastify directly documents itself: in its `config`, beside its principals. */
export interface DocumentedRouteConfig {
  docs: RouteDocs;
}

/** The RouteDocs in a Fastify route's config, if it has any. */
export function routeDocsIn(config: unknown): RouteDocs | undefined {
  const docs = (config as Partial<DocumentedRouteConfig> | undefined)?.docs;
  return typeof docs === 'object' && typeof docs.summary === 'string' ? docs : undefined;
}

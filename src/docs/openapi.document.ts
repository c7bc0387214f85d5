import { Injectable, type Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { ACCEPTED_PRINCIPALS } from '../auth/auth.decorators';
import { type PrincipalKind } from '../auth/principal';
import { IS_PUBLIC } from '../auth/public.decorator';
import { ROUTE_DOCS, routeDocsIn, type RouteDocs } from '../common/docs/route-docs';
import { inlineValidatedSchema, validatedSchema } from '../common/docs/typed-schema';
import { PROBLEM_CONTENT_TYPE } from '../common/errors/problem';
import { isBodyOptional } from '../common/http/body-schema';
import { type NestRoute, nestRoutes } from '../common/http/nest-routes';
import { REQUEST_ID_HEADER } from '../common/http/request-id';
import { jsonSchemaOf, type JsonSchema } from '../common/validation/dto-schema';
import { VersionService } from '../health/version.service';
import { COMMAND_TYPES } from '../sessions/commands/command-catalogue';
import { catalogueDescription, commandOutputSchema } from '../sessions/commands/command-schemas';
import { PROBLEM_DEFINITION, problemExamples } from './problem-docs';
import { type RecordedRoute, RouteRecorder } from './route-recorder';
import { SchemaComponents } from './schema-components';

/** How each principal authenticates over HTTP (docs/guide.md#principals-and-authentication); operations routes take none. */
const SECURITY_SCHEMES: Record<PrincipalKind, JsonSchema> = {
  device: {
    type: 'http',
    scheme: 'basic',
    description: 'A device agent: `Authorization: Basic base64(<deviceId>:<secret>)`.',
  },
  customer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A customer: `Authorization: Bearer <Supabase Auth access token>` (aud and role `authenticated`).',
  },
  service: {
    type: 'http',
    scheme: 'bearer',
    description: 'A backend service: `Authorization: Bearer <service key>`, a key the operator configured.',
  },
};

const COMMON_PROBLEMS = {
  400: 'The request is not valid (`errors` names each field) or could not be read',
  401: 'Missing or invalid credentials',
  403: 'The principal may not do this',
  404: "Not found, or not the caller's",
  503: 'A dependency (database, cache, identity provider) is unavailable: retry after `Retry-After`',
} as const;

/** A route and what the document reads off it. */
interface DocumentedRoute {
  route: RecordedRoute;
  nest: NestRoute | undefined;
  docs: RouteDocs | undefined;
}

/**
 * The OpenAPI 3.1 document (`/docs/json`), built from what the gateway serves and validates: every route
 * Fastify was given (Nest's and the heartbeat), its principals as security, its body schema as Fastify
 * validates it, the query DTO the ValidationPipe checks, the path parameters of its URL, the headers its
 * handler reads, and what its @Documented (or `config.docs`) declares of its answers.
 */
@Injectable()
export class OpenApiDocument {
  private document: Record<string, unknown> | undefined;
  private missing: string[] = [];

  constructor(
    private readonly recorder: RouteRecorder,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly version: VersionService,
  ) {}

  /** Built once, on first use: every route is registered by then. */
  get(): Record<string, unknown> {
    this.document ??= this.build();
    return this.document;
  }

  /** Routes served without a @Documented (or `config.docs`) declaration: a test fails on any. */
  undocumented(): readonly string[] {
    this.get();
    return this.missing;
  }

  private build(): Record<string, unknown> {
    const components = new SchemaComponents();
    components.use(PROBLEM_DEFINITION);
    const nest = new Map(
      nestRoutes(this.discovery, this.scanner).map((route) => [`${route.method} ${route.url}`, route]),
    );
    const getUrls = new Set(this.recorder.routes.filter((r) => r.method === 'GET').map((r) => r.url));
    const paths: Record<string, Record<string, unknown>> = {};
    const missing: string[] = [];
    for (const route of this.recorder.routes) {
      // Fastify's own HEAD twin of each GET route.
      if (route.method === 'HEAD' && getUrls.has(route.url)) continue;
      const nestRoute = nest.get(`${route.method} ${route.url}`);
      const docs = nestRoute
        ? this.reflector.get<RouteDocs | undefined>(ROUTE_DOCS, nestRoute.handler as () => unknown)
        : routeDocsIn(route.config);
      if (!docs) missing.push(`${route.method} ${route.url}`);
      const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      paths[path] ??= {};
      paths[path][route.method.toLowerCase()] = this.operation({ route, nest: nestRoute, docs }, components);
    }
    this.missing = missing;
    for (const type of COMMAND_TYPES) components.use(commandOutputSchema(type));
    const { name, version } = this.version.info;
    return {
      openapi: '3.1.0',
      info: {
        title: `${name} API`,
        version,
        description:
          'The network-diagnostics gateway: device agents, customer portals and backend services. Errors are ' +
          '`application/problem+json`; every answer carries `x-request-id`; lists are `{ items, nextCursor }`. ' +
          'The Socket.IO events are in the AsyncAPI document at `/docs/asyncapi.json`.\n\nCommand types:\n' +
          catalogueDescription(COMMAND_TYPES),
      },
      servers: [{ url: '/' }],
      tags: [
        ...new Set(
          Object.values(paths).flatMap((ops) =>
            Object.values(ops).flatMap((op) => (op as { tags: string[] }).tags),
          ),
        ),
      ]
        .sort()
        .map((tag) => ({ name: tag })),
      paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
      components: {
        schemas: components.all(),
        securitySchemes: SECURITY_SCHEMES,
        headers: {
          RequestId: {
            description: 'The request id, echoed when the request sent one',
            schema: { type: 'string' },
          },
          RetryAfter: { description: 'Seconds to wait before retrying', schema: { type: 'integer' } },
        },
      },
    };
  }

  private operation(
    { route, nest, docs }: DocumentedRoute,
    components: SchemaComponents,
  ): Record<string, unknown> {
    const principals = nest
      ? this.reflector.getAllAndOverride<PrincipalKind[] | undefined>(ACCEPTED_PRINCIPALS, [
          nest.handler as () => unknown,
          nest.controller,
        ])
      : (route.config as { principals?: PrincipalKind[] } | undefined)?.principals;
    const isPublic =
      nest !== undefined &&
      this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, [
        nest.handler as () => unknown,
        nest.controller,
      ]) === true;
    const parameters = [
      ...this.pathParameters(route.url),
      ...(nest ? this.handlerParameters(nest, docs, components) : []),
    ];
    const body = route.schema?.body as JsonSchema | undefined;
    const takesInput = body !== undefined || parameters.some((parameter) => parameter.in !== 'header');
    const problems: Partial<Record<number, string>> = {
      ...(takesInput ? { 400: COMMON_PROBLEMS[400] } : {}),
      ...(isPublic ? {} : { 401: COMMON_PROBLEMS[401] }),
      ...(route.url.includes(':') ? { 404: COMMON_PROBLEMS[404] } : {}),
      ...(route.url.startsWith('/v1/') ? { 503: COMMON_PROBLEMS[503] } : {}),
      ...docs?.problems,
    };
    const responses: Record<string, unknown> = {};
    for (const [status, answer] of Object.entries(docs?.responses ?? {})) {
      if (!answer) continue;
      responses[status] = {
        description: answer.description,
        headers: {
          [REQUEST_ID_HEADER]: { $ref: '#/components/headers/RequestId' },
          ...Object.fromEntries(
            Object.entries(answer.headers ?? {}).map(([name, description]) => [
              name,
              { description, schema: { type: 'string' } },
            ]),
          ),
        },
        ...(answer.schema
          ? {
              content: {
                [answer.contentType ?? 'application/json']: { schema: components.use(answer.schema) },
              },
            }
          : answer.contentType
            ? { content: { [answer.contentType]: { schema: { type: 'string' } } } }
            : {}),
      };
    }
    for (const [status, description] of Object.entries(problems)) {
      if (responses[status] !== undefined || description === undefined) continue;
      const examples = problemExamples(Number(status));
      responses[status] = {
        description,
        headers: {
          [REQUEST_ID_HEADER]: { $ref: '#/components/headers/RequestId' },
          ...(status === '503' ? { 'retry-after': { $ref: '#/components/headers/RetryAfter' } } : {}),
        },
        content: {
          [PROBLEM_CONTENT_TYPE]: {
            schema: { $ref: '#/components/schemas/Problem' },
            ...(Object.keys(examples).length > 0 ? { examples } : {}),
          },
        },
      };
    }
    responses.default = {
      description: 'Any other error',
      content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
    };
    return {
      operationId: nest
        ? `${nest.controller.name.replace(/Controller$/, '')}.${nest.methodName}`
        : operationIdOf(route),
      tags: [docs?.tag ?? tagOf(route.url)],
      ...(docs ? { summary: docs.summary } : { 'x-undocumented': true }),
      ...(docs?.description ? { description: docs.description } : {}),
      security: isPublic || !principals?.length ? [] : principals.map((kind) => ({ [kind]: [] })),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(body
        ? {
            requestBody: {
              required: !isBodyOptional(route.config ?? {}),
              content: { 'application/json': { schema: validatedSchema(body, components.resolve) } },
            },
          }
        : {}),
      responses,
    };
  }

  private pathParameters(url: string): { in: string; name: string; required: boolean; schema: JsonSchema }[] {
    return [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map(([, name]) => ({
      in: 'path',
      name: name ?? '',
      required: true,
      schema: { type: 'string' },
    }));
  }

  /** The query DTO and the headers a Nest handler reads, from its parameter decorators. */
  private handlerParameters(
    nest: NestRoute,
    docs: RouteDocs | undefined,
    components: SchemaComponents,
  ): { in: string; name: string; required: boolean; schema: JsonSchema; description?: string }[] {
    const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, nest.controller, nest.methodName) ?? {}) as Record<
      string,
      { index: number; data?: unknown }
    >;
    const types = (Reflect.getMetadata(
      'design:paramtypes',
      nest.controller.prototype as object,
      nest.methodName,
    ) ?? []) as unknown[];
    const parameters: {
      in: string;
      name: string;
      required: boolean;
      schema: JsonSchema;
      description?: string;
    }[] = [];
    for (const [key, { index, data }] of Object.entries(args)) {
      const paramtype = Number(key.split(':')[0]);
      if (paramtype === (RouteParamtypes.QUERY as number)) {
        if (typeof data === 'string') {
          parameters.push({ in: 'query', name: data, required: false, schema: { type: 'string' } });
          continue;
        }
        const query = inlineValidatedSchema(jsonSchemaOf(types[index] as Type), components.resolve);
        const required = (query.required as string[] | undefined) ?? [];
        for (const [name, schema] of Object.entries((query.properties ?? {}) as Record<string, JsonSchema>)) {
          parameters.push({ in: 'query', name, required: required.includes(name), schema });
        }
      } else if (paramtype === (RouteParamtypes.HEADERS as number) && typeof data === 'string') {
        const description = docs?.headers?.[data.toLowerCase()];
        parameters.push({
          in: 'header',
          name: data.replace(
            /(^|-)([a-z])/g,
            (_match, dash: string, letter: string) => dash + letter.toUpperCase(),
          ),
          required: false,
          schema: { type: 'string' },
          ...(description ? { description } : {}),
        });
      }
    }
    return parameters;
  }
}

/** `/v1/devices/:deviceId` → `devices`; the operations routes (`/health/live`, `/version`) → `operations`. */
function tagOf(url: string): string {
  const segments = url.split('/').filter(Boolean);
  if (segments[0] === 'v1') return segments[1] ?? 'v1';
  if (segments[0] === 'docs') return 'docs';
  return 'operations';
}

function operationIdOf(route: RecordedRoute): string {
  return `${route.method.toLowerCase()}${route.url.replace(/[^A-Za-z0-9]+(.)?/g, (_m, next?: string) => (next ?? '').toUpperCase())}`;
}

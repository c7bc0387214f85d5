import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import { RealtimeHandlers } from '../../src/realtime/realtime-handlers';
import { declaredServerEvents } from '../../src/realtime/realtime.events';
import { ERROR_CATALOG } from '../../src/error-catalog';
import { COMMAND_TYPES } from '../../src/sessions/commands/command-catalogue';
import { startInProcessApp, type InProcessApp } from '../support/in-process-app';
import { ServedRoutes, ServedRoutesModule } from '../support/served-routes.module';

interface Operation {
  summary?: string;
  security: Record<string, string[]>[];
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, unknown> }>;
}

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, { enum?: string[] }> }> };
}

interface AsyncApi {
  asyncapi: string;
  servers: Record<string, { host: string; protocol: string; pathname: string }>;
  channels: Record<
    string,
    { address: string; messages: Record<string, { name?: string; payload: unknown }> }
  >;
  operations: Record<
    string,
    {
      action: 'send' | 'receive';
      channel: { $ref: string };
      messages: { $ref: string }[];
      reply?: { messages: { $ref: string }[] };
    }
  >;
}

/** @seriousme/openapi-schema-validator is an ES module only: it runs in a node process of its own. */
function validateOpenApi(document: unknown): Promise<{ valid: boolean; version: string; errors: unknown[] }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [join(__dirname, '../support/openapi-validator.mjs')],
      { timeout: 20_000 },
      (error, stdout) => {
        if (error) reject(new Error(`The OpenAPI validator failed: ${error.message}`));
        else resolve(JSON.parse(stdout) as { valid: boolean; version: string; errors: unknown[] });
      },
    );
    child.stdin?.end(JSON.stringify(document));
  });
}

const toOpenApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('API documents', () => {
  let gateway: InProcessApp;
  let openApi: OpenApi;
  let asyncApi: AsyncApi;

  const get = (url: string) => gateway.app.getHttpAdapter().getInstance().inject({ method: 'GET', url });

  beforeAll(async () => {
    gateway = await startInProcessApp({ env: { LOG_LEVEL: 'silent' }, extraModules: [ServedRoutesModule] });
    const openApiResponse = await get('/docs/json');
    expect(openApiResponse.statusCode).toBe(200);
    openApi = openApiResponse.json<OpenApi>();
    const asyncApiResponse = await get('/docs/asyncapi.json');
    expect(asyncApiResponse.statusCode).toBe(200);
    asyncApi = asyncApiResponse.json<AsyncApi>();
  });

  afterAll(async () => {
    await gateway.close();
  });

  describe('OpenAPI at /docs/json', () => {
    it('is a valid OpenAPI 3.1 document', async () => {
      expect(openApi.openapi).toBe('3.1.0');
      await expect(validateOpenApi(openApi)).resolves.toEqual({ valid: true, version: '3.1', errors: [] });
    });

    it('documents every route Fastify serves, the heartbeat fast path included, with its answers', () => {
      const all = gateway.app.get(ServedRoutes).routes;
      // Fastify's own HEAD twin of each GET route is left out, as in the route declarations.
      const getUrls = new Set(all.filter((route) => route.method === 'GET').map((route) => route.url));
      const served = all.filter((route) => !(route.method === 'HEAD' && getUrls.has(route.url)));
      expect(served.map((route) => `${route.method} ${route.url}`)).toEqual(
        expect.arrayContaining([
          'POST /v1/agent/heartbeat',
          'GET /docs',
          'GET /docs/json',
          'GET /docs/asyncapi.json',
        ]),
      );
      const undocumented = served
        .map((route) => ({
          route,
          operation: openApi.paths[toOpenApiPath(route.url)]?.[route.method.toLowerCase()],
        }))
        .filter(
          ({ operation }) =>
            operation?.summary === undefined ||
            !Object.keys(operation.responses).some((status) => /^[23]\d\d$/.test(status)),
        )
        .map(({ route }) => `${route.method} ${route.url}`);
      expect(undocumented).toEqual([]);
    });

    it('names the principals of each route as its security, and none for the operations endpoints', () => {
      const security = (method: string, path: string) => openApi.paths[path]?.[method]?.security;
      expect(security('post', '/v1/agent/heartbeat')).toEqual([{ device: [] }]);
      expect(security('post', '/v1/devices')).toEqual([{ customer: [] }]);
      expect(security('get', '/v1/sessions/{sessionId}')).toEqual([{ customer: [] }, { service: [] }]);
      expect(security('post', '/v1/sessions/{sessionId}/remediation-plans')).toEqual([{ service: [] }]);
      for (const [path, operations] of Object.entries(openApi.paths)) {
        for (const operation of Object.values(operations)) {
          expect({ path, secured: operation.security.length > 0 }).toEqual({
            path,
            secured: path.startsWith('/v1/'),
          });
        }
      }
    });

    it('gives bodies, parameters and the Idempotency-Key header as the gateway validates them', () => {
      const heartbeat = openApi.paths['/v1/agent/heartbeat']?.post;
      expect(heartbeat?.requestBody?.content['application/json']?.schema).toEqual({
        $ref: '#/components/schemas/HeartbeatDto',
      });
      const issue = openApi.paths['/v1/sessions/{sessionId}/commands']?.post;
      expect(issue?.parameters).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ in: 'path', name: 'sessionId' }),
          expect.objectContaining({ in: 'query', name: 'waitSec' }),
          expect.objectContaining({ in: 'header', name: 'Idempotency-Key' }),
        ]),
      );
      expect(
        openApi.paths['/v1/devices']?.get?.parameters?.map((parameter) => parameter.name).sort(),
      ).toEqual(['cursor', 'limit', 'state']);
      expect(Object.keys(issue?.responses ?? {})).toEqual(
        expect.arrayContaining(['200', '202', '400', '409']),
      );
    });

    it("has the Device, Session, Command and Plan objects, and every command type's params and output", () => {
      const schemas = openApi.components.schemas;
      expect(Object.keys(schemas)).toEqual(expect.arrayContaining(['Device', 'Session', 'Command', 'Plan']));
      for (const type of COMMAND_TYPES) {
        expect(schemas).toHaveProperty([`CommandParams.${type}`]);
        expect(schemas).toHaveProperty([`CommandOutput.${type}`]);
      }
      expect(Object.keys(schemas.Command?.properties ?? {}).sort()).toEqual(
        [
          'id',
          'sessionId',
          'deviceId',
          'type',
          'params',
          'status',
          'attempt',
          'timeoutSec',
          'expiresAt',
          'progress',
          'output',
          'error',
          'issuedBy',
          'createdAt',
          'sentAt',
          'deliveredAt',
          'startedAt',
          'finishedAt',
          'revision',
        ].sort(),
      );
    });

    it('describes problems with every code of the error catalog, with examples', () => {
      expect(openApi.components.schemas.Problem?.properties?.code?.enum?.sort()).toEqual(
        Object.keys(ERROR_CATALOG).sort(),
      );
      const conflict =
        openApi.paths['/v1/devices']?.post?.responses['409']?.content?.['application/problem+json'];
      expect(conflict).toMatchObject({
        schema: { $ref: '#/components/schemas/Problem' },
        examples: { device_serial_taken: { value: { status: 409, code: 'device_serial_taken' } } },
      });
    });
  });

  describe('AsyncAPI at /docs/asyncapi.json', () => {
    it('is a valid AsyncAPI 3.0 document for the AsyncAPI parser', async () => {
      expect(asyncApi.asyncapi).toBe('3.0.0');
      const { document, diagnostics } = await new Parser().parse(JSON.stringify(asyncApi));
      // Severity 0 is an error; warnings and hints are style advice.
      expect(diagnostics.filter((diagnostic) => (diagnostic.severity as number) === 0)).toEqual([]);
      expect(
        document
          ?.channels()
          .all()
          .map((channel) => channel.address()),
      ).toEqual(['/agent', '/portal']);
      expect(asyncApi.servers.gateway).toMatchObject({ protocol: 'ws', pathname: '/socket.io' });
    });

    it('has every registered client event, with its payload and its ack as a reply', () => {
      const handlers = gateway.app.get(RealtimeHandlers);
      const registered = [
        ...[...handlers.agent.events().keys()].map((event) => ({ namespace: '/agent', event })),
        ...[...handlers.portal.events().keys()].map((event) => ({ namespace: '/portal', event })),
      ];
      expect(registered.map(({ event }) => event)).toEqual(
        expect.arrayContaining(['heartbeat', 'device:subscribe', 'device:unsubscribe', 'auth:refresh']),
      );
      for (const { namespace, event } of registered) {
        expect({ namespace, event, documented: documented('receive', namespace, event) }).toEqual({
          namespace,
          event,
          documented: { payload: true, reply: true },
        });
      }
    });

    it('has every declared server event on each of its namespaces, close reasons included', () => {
      const declared = declaredServerEvents().flatMap(({ name, namespaces }) =>
        namespaces.map((namespace) => ({ namespace, event: name })),
      );
      expect(declared.map(({ event }) => event)).toEqual(
        expect.arrayContaining([
          'device:status',
          'session:updated',
          'remediation:updated',
          'connection:closing',
        ]),
      );
      for (const { namespace, event } of declared) {
        expect({ namespace, event, documented: documented('send', namespace, event)?.payload }).toEqual({
          namespace,
          event,
          documented: true,
        });
      }
      const closing = asyncApi.channels.agent?.messages['connection.closing']?.payload;
      expect(JSON.stringify(closing)).toContain('"replaced","revoked","shutdown","token_expired"');
    });

    /** Whether the document has the event as an operation of its namespace's channel, and its reply. */
    function documented(
      action: 'send' | 'receive',
      namespace: string,
      event: string,
    ): { payload: boolean; reply: boolean } | undefined {
      const channelKey = Object.keys(asyncApi.channels).find(
        (key) => asyncApi.channels[key]?.address === namespace,
      );
      const channel = channelKey === undefined ? undefined : asyncApi.channels[channelKey];
      const operation = Object.values(asyncApi.operations).find(
        (candidate) =>
          candidate.action === action &&
          candidate.channel.$ref === `#/channels/${channelKey}` &&
          candidate.messages.some(
            (ref) => channel?.messages[ref.$ref.split('/').pop() ?? '']?.name === event,
          ),
      );
      if (!operation) return undefined;
      return { payload: true, reply: (operation.reply?.messages.length ?? 0) > 0 };
    }
  });

  describe('the page at /docs', () => {
    it('answers HTML that loads Swagger UI from the gateway itself', async () => {
      const page = await get('/docs');
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
      expect(page.body).toContain('/docs/assets/swagger-ui-bundle.js');
      const bundle = await get('/docs/assets/swagger-ui-bundle.js');
      expect({ status: bundle.statusCode, type: bundle.headers['content-type'] }).toEqual({
        status: 200,
        type: 'application/javascript; charset=utf-8',
      });
      expect(bundle.body).toContain('SwaggerUIBundle');
      const unknown = await get('/docs/assets/package.json');
      expect(unknown.statusCode).toBe(404);
      expect(unknown.headers['content-type']).toContain('application/problem+json');
    });
  });
});

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { ACCEPTED_PRINCIPALS } from '../../src/auth/auth.decorators';
import { joinPath } from '../../src/common/http/join-path';
import { IS_PUBLIC } from '../../src/auth/public.decorator';
import { startInProcessApp, type InProcessApp } from '../support/in-process-app';
import { openRawConnection } from '../support/raw-connections';
import { ServedRoutes, ServedRoutesModule } from '../support/served-routes.module';

interface RouteDeclaration {
  route: string;
  isPublic: boolean;
  principals: string[];
}

/**
 * Every route the real app serves, with what it declares about its callers: each handler of every
 * controller through its decorators, and each route registered with Fastify directly through its
 * `config.principals` (PrincipalRouteConfig). Fastify's own HEAD twins of GET routes are left out.
 */
function declaredRoutes(gateway: InProcessApp): RouteDeclaration[] {
  const nestRoutes = nestRouteDeclarations(gateway);
  const nestKeys = new Set(nestRoutes.map((declaration) => declaration.route.split(' (')[0]));
  const directRoutes = gateway.app
    .get(ServedRoutes)
    .routes.filter((route) => route.method !== 'HEAD' && !nestKeys.has(`${route.method} ${route.url}`))
    .map((route) => {
      const principals = (route.config as { principals?: unknown } | undefined)?.principals;
      return {
        route: `${route.method} ${route.url} (registered with Fastify)`,
        isPublic: false,
        principals: Array.isArray(principals) ? principals.map(String) : [],
      };
    });
  return [...nestRoutes, ...directRoutes];
}

/** Every handler of every controller of the real app, with what its decorators declare. */
function nestRouteDeclarations(gateway: InProcessApp): RouteDeclaration[] {
  const modules = [...gateway.app.get(ModulesContainer).values()];
  const scanner = new MetadataScanner();
  const reflector = new Reflector();
  return modules
    .flatMap((module) => [...module.controllers.values()])
    .flatMap((wrapper) => {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!controller) return [];
      const prototype = controller.prototype as Record<string, unknown>;
      const declarationOf = (handler: object): Omit<RouteDeclaration, 'route'> => {
        const targets = [handler as () => unknown, controller];
        return {
          isPublic: reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets) === true,
          principals: reflector.getAllAndOverride<string[] | undefined>(ACCEPTED_PRINCIPALS, targets) ?? [],
        };
      };
      const nestRoutes = scanner.getAllMethodNames(prototype).flatMap((methodName) => {
        const handler = prototype[methodName] as (...args: unknown[]) => unknown;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
        if (path === undefined) return [];
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod;
        return [
          {
            route: `${RequestMethod[method]} ${joinPath(Reflect.getMetadata(PATH_METADATA, controller) as string, path)} (${controller.name}.${methodName})`,
            ...declarationOf(handler),
          },
        ];
      });
      return nestRoutes;
    });
}

describe('route declarations', () => {
  let gateway: InProcessApp;

  beforeAll(async () => {
    gateway = await startInProcessApp({
      env: { LOG_LEVEL: 'silent' },
      extraModules: [ServedRoutesModule],
    });
  });

  afterAll(async () => {
    await gateway.close();
  });

  it('finds the routes of every controller', () => {
    const routes = declaredRoutes(gateway).map((declaration) => declaration.route);
    expect(routes).toEqual(
      expect.arrayContaining([
        expect.stringContaining('POST /v1/agent/heartbeat'),
        expect.stringContaining('GET /v1/devices/:deviceId'),
        expect.stringContaining('GET /health/live'),
      ]),
    );
  });

  it('serves the API documents and their page publicly', () => {
    const docs = declaredRoutes(gateway).filter((declaration) => / \/docs[ /]/.test(`${declaration.route} `));
    expect(docs.map((declaration) => declaration.route.split(' (')[0]).sort()).toEqual(
      expect.arrayContaining(['GET /docs', 'GET /docs/asyncapi.json', 'GET /docs/json']),
    );
    expect(docs.filter((declaration) => !declaration.isPublic)).toEqual([]);
  });

  it('has no route that declares neither @Public() nor the principals it accepts', () => {
    const undeclared = declaredRoutes(gateway).filter(
      (declaration) => !declaration.isPublic && declaration.principals.length === 0,
    );
    expect(undeclared.map((declaration) => declaration.route)).toEqual([]);
  });

  it('refuses every authenticated route without credentials before reading its body', async () => {
    await gateway.app.listen({ port: 0, host: '127.0.0.1' });
    const address = gateway.app.getHttpServer().address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const authenticated = declaredRoutes(gateway).filter((declaration) => !declaration.isPublic);
    expect(authenticated.length).toBeGreaterThan(0);

    for (const { route } of authenticated) {
      const [method, template] = route.split(' ') as [string, string];
      const path = template.replace(/:[A-Za-z]+/g, randomUUID());
      // Headers announce a body that never comes: only an answer before reading it can arrive.
      const connection = await openRawConnection(
        port,
        `${method} ${path} HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n` +
          'Content-Length: 1000\r\n\r\n{"',
      );
      const closedMs = await Promise.race([connection.closed, sleep(5_000).then(() => Infinity)]);
      connection.socket.destroy();
      expect({
        route,
        status: connection.received().split('\r\n')[0],
        closedBeforeTimeout: closedMs < 5_000,
      }).toEqual({
        route,
        status: 'HTTP/1.1 401 Unauthorized',
        closedBeforeTimeout: true,
      });
    }
  });

  it('validates the body of every route that takes one against a JSON Schema, before the handler runs', () => {
    const withBody = gateway.app
      .get(ServedRoutes)
      .routes.filter((route) => ['POST', 'PUT', 'PATCH'].includes(route.method));
    expect(withBody.length).toBeGreaterThan(0);
    expect(
      withBody
        .filter((route) => route.bodySchema === undefined)
        .map((route) => `${route.method} ${route.url}`),
    ).toEqual([]);
  });

  it('keeps the operations endpoints public and everything under /v1 authenticated', () => {
    for (const declaration of declaredRoutes(gateway)) {
      if (declaration.route.includes(' /v1/')) {
        expect({ route: declaration.route, isPublic: declaration.isPublic }).toEqual({
          route: declaration.route,
          isPublic: false,
        });
      }
    }
  });
});

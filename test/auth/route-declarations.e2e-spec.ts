import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { ACCEPTED_PRINCIPALS } from '../../src/auth/auth.decorators';
import { hotRoutesOf, joinPath } from '../../src/common/http/hot-route';
import { IS_PUBLIC } from '../../src/auth/public.decorator';
import { startInProcessApp, type InProcessApp } from '../support/in-process-app';
import { openRawConnection } from '../support/raw-connections';

interface RouteDeclaration {
  route: string;
  isPublic: boolean;
  principals: string[];
}

/** Every handler of every controller of the real app, with what it declares about its callers. */
function declaredRoutes(gateway: InProcessApp): RouteDeclaration[] {
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
      // Served by Fastify directly, but declared and authenticated like the others.
      const hotRoutes = hotRoutesOf(controller).map(({ spec, url, methodName, handler }) => ({
        route: `${spec.method} ${url} (${controller.name}.${methodName}, hot)`,
        ...declarationOf(handler),
      }));
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
      return [...nestRoutes, ...hotRoutes];
    });
}

describe('route declarations', () => {
  let gateway: InProcessApp;

  beforeAll(async () => {
    gateway = await startInProcessApp({ env: { LOG_LEVEL: 'silent' } });
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

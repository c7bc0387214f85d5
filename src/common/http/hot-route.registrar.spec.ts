import { Controller, Logger, type Type } from '@nestjs/common';
import { type DiscoveryService, type HttpAdapterHost } from '@nestjs/core';
import { type InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { IsInt } from 'class-validator';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type DevicePrincipal, type Principal, type PrincipalKind } from '../../auth/principal';
import { HotRoute } from './hot-route';
import { HotRouteRegistrar } from './hot-route.registrar';
import { RouteAuthenticator } from './route-authenticator';

class CountDto {
  @IsInt()
  count!: number;
}

const DEVICE: DevicePrincipal = { kind: 'device', deviceId: 'd-1', customerId: 'c-1' };

@Controller('v1/probe')
class ProbeController {
  readonly calls: [DevicePrincipal, CountDto][] = [];

  @HotRoute({
    method: 'POST',
    path: 'count',
    principal: 'device',
    status: 201,
    body: CountDto,
    response: { type: 'object', properties: { doubled: { type: 'integer' } } },
  })
  count(device: DevicePrincipal, body: CountDto): Promise<{ doubled: number; secret: string }> {
    this.calls.push([device, body]);
    return Promise.resolve({ doubled: body.count * 2, secret: 'not in the response schema' });
  }
}

/** Admits what the test says, as the PrincipalGuard would after checking credentials. */
class ScriptedAuthenticator extends RouteAuthenticator {
  constructor(
    private readonly declared: PrincipalKind[] | 'public',
    private readonly principal: Principal = DEVICE,
  ) {
    super();
  }

  declarationOf(): PrincipalKind[] | 'public' {
    return this.declared;
  }

  admit(_handler: object, _controller: Type, request: FastifyRequest): Promise<Principal> {
    if (request.headers.authorization !== 'let-me-in') return Promise.reject(new Error('refused'));
    (request as FastifyRequest & { user?: Principal }).user = this.principal;
    return Promise.resolve(this.principal);
  }
}

function registrar(
  fastify: FastifyInstance,
  authenticator: RouteAuthenticator,
  wrapper: Partial<InstanceWrapper>,
): HotRouteRegistrar {
  const discovery = { getControllers: () => [wrapper] } as unknown as DiscoveryService;
  const adapterHost = { httpAdapter: { getInstance: () => fastify } } as unknown as HttpAdapterHost;
  return new HotRouteRegistrar(discovery, adapterHost, authenticator);
}

const singleton = (instance: object): Partial<InstanceWrapper> => ({
  metatype: ProbeController,
  instance,
  isDependencyTreeStatic: () => true,
});

describe('HotRouteRegistrar', () => {
  let fastify: FastifyInstance;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    fastify = Fastify({ logger: false });
  });

  afterEach(async () => {
    await fastify.close();
  });

  it('serves the method on Fastify with the admitted principal, the validated body and its schema', async () => {
    const controller = new ProbeController();
    registrar(fastify, new ScriptedAuthenticator(['device']), singleton(controller)).onModuleInit();

    const ok = await fastify.inject({
      method: 'POST',
      url: '/v1/probe/count',
      headers: { authorization: 'let-me-in' },
      payload: { count: 21 },
    });
    const invalid = await fastify.inject({
      method: 'POST',
      url: '/v1/probe/count',
      headers: { authorization: 'let-me-in' },
      payload: { count: 'many' },
    });
    const refused = await fastify.inject({ method: 'POST', url: '/v1/probe/count', payload: { count: 1 } });

    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toEqual({ doubled: 42 });
    expect(controller.calls).toEqual([[DEVICE, { count: 21 }]]);
    expect(invalid.statusCode).toBe(400);
    expect(refused.statusCode).toBe(500);
    expect(controller.calls).toHaveLength(1);
  });

  it('refuses to start when the decorators declare other principals than the route serves', () => {
    for (const declared of [['customer'], ['device', 'service'], 'public'] as const) {
      const authenticator = new ScriptedAuthenticator(declared === 'public' ? declared : [...declared]);
      expect(() => {
        registrar(Fastify(), authenticator, singleton(new ProbeController())).onModuleInit();
      }).toThrow(/ProbeController.count serves device principals but its decorators declare/);
    }
  });

  it('refuses a request-scoped controller, which has no instance to serve with', () => {
    const scoped = { ...singleton(new ProbeController()), isDependencyTreeStatic: () => false };

    expect(() => {
      registrar(fastify, new ScriptedAuthenticator(['device']), scoped).onModuleInit();
    }).toThrow(/must be a singleton/);
  });

  it('fails a request whose admitted principal is of another kind instead of passing it on', async () => {
    const controller = new ProbeController();
    const service: Principal = { kind: 'service', name: 'planner' };
    registrar(fastify, new ScriptedAuthenticator(['device'], service), singleton(controller)).onModuleInit();

    const response = await fastify.inject({
      method: 'POST',
      url: '/v1/probe/count',
      headers: { authorization: 'let-me-in' },
      payload: { count: 1 },
    });

    expect(response.statusCode).toBe(500);
    expect(controller.calls).toEqual([]);
  });
});

import { type ContextType, Controller, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { loadConfig } from '../config/app-config';
import { MetricsService } from '../infra/metrics/metrics.service';
import { AuthSecrets } from './auth-secrets';
import { Public, ServiceAuth } from './auth.decorators';
import { AuthErrorCode, InvalidCredentialsError, UnguardedContextError } from './auth.errors';
import { CustomerTokenVerifier } from './customer-token.verifier';
import { type DeviceCredentialsService } from './device-credentials.service';
import { PrincipalGuard } from './principal.guard';
import { ServiceKeyVerifier } from './service-key.verifier';
import { CustomerStrategy } from './strategies/customer.strategy';
import { DeviceStrategy } from './strategies/device.strategy';
import { ServiceStrategy } from './strategies/service.strategy';

const SERVICE_KEY = 's'.repeat(40);

@Controller()
class ProbeHandlers {
  @Public()
  open(): void {
    // Only its declaration is read.
  }

  @ServiceAuth()
  forServices(): void {
    // Only its declaration is read.
  }
}

function guard(): PrincipalGuard {
  const config = loadConfig({ SERVICE_KEYS: `planner:${SERVICE_KEY}` });
  // No case here presents device credentials: the device strategy never reaches its service.
  const unreachableDeviceCredentials = {} as DeviceCredentialsService;
  return new PrincipalGuard(
    new Reflector(),
    new MetricsService(),
    new DeviceStrategy(unreachableDeviceCredentials),
    new CustomerStrategy(new CustomerTokenVerifier(config, new AuthSecrets('', null))),
    new ServiceStrategy(new ServiceKeyVerifier(config)),
  );
}

interface ProbeRequest {
  id: string;
  headers: Record<string, string>;
  routeOptions: { url: string };
  user?: unknown;
}

function httpContext(handler: keyof ProbeHandlers, request: ProbeRequest): ExecutionContextHost {
  const reply = { header: () => reply };
  return new ExecutionContextHost([request, reply], ProbeHandlers, ProbeHandlers.prototype[handler]);
}

function contextOfType(type: ContextType, handler: keyof ProbeHandlers): ExecutionContextHost {
  const context = new ExecutionContextHost([{}, {}], ProbeHandlers, ProbeHandlers.prototype[handler]);
  context.setType(type);
  return context;
}

function probeRequest(headers: Record<string, string> = {}): ProbeRequest {
  return { id: 'request-1', headers, routeOptions: { url: '/probe' } };
}

describe('PrincipalGuard', () => {
  beforeAll(() => {
    // The refusal below is logged as a warning, as in production.
    Logger.overrideLogger(false);
  });

  it.each<ContextType>(['ws', 'rpc'])(
    'refuses a %s handler, public or not, instead of letting it run unauthenticated',
    async (type) => {
      for (const handler of ['open', 'forServices'] as const) {
        const refusal = guard().canActivate(contextOfType(type, handler));

        await expect(refusal).rejects.toBeInstanceOf(UnguardedContextError);
        await expect(refusal).rejects.toMatchObject({
          code: AuthErrorCode.UnguardedContext,
          message: expect.stringContaining(`ProbeHandlers.${handler} is a ${type} handler`) as unknown,
        });
      }
    },
  );

  it('still admits HTTP requests as their handlers declare', async () => {
    const subject = guard();
    const anonymous = probeRequest();
    await expect(subject.canActivate(httpContext('open', anonymous))).resolves.toBe(true);
    expect(anonymous.user).toBeUndefined();

    const service = probeRequest({ authorization: `Bearer ${SERVICE_KEY}` });
    await expect(subject.canActivate(httpContext('forServices', service))).resolves.toBe(true);
    expect(service.user).toEqual({ kind: 'service', name: 'planner' });

    const wrongKey = probeRequest({ authorization: `Bearer ${'x'.repeat(40)}` });
    await expect(subject.canActivate(httpContext('forServices', wrongKey))).rejects.toBeInstanceOf(
      InvalidCredentialsError,
    );
  });
});

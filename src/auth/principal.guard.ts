import { type CanActivate, type ExecutionContext, Injectable, Logger, type Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { Authenticator } from 'passport';
import { type MaybePromise, whenReady } from '../common/maybe-promise';
import { MetricsService } from '../infra/metrics/metrics.service';
import { ACCEPTED_PRINCIPALS } from './auth.decorators';
import {
  AuthFailure,
  REFUSAL_REASONS,
  refusalFor,
  RouteWithoutPrincipalError,
  UnguardedContextError,
} from './auth.errors';
import { type Principal, type PrincipalKind } from './principal';
import { IS_PUBLIC } from './public.decorator';
import { CustomerStrategy } from './strategies/customer.strategy';
import { DeviceStrategy } from './strategies/device.strategy';
import { ServiceStrategy } from './strategies/service.strategy';

const CREDENTIAL_FORMS: Record<PrincipalKind, string> = {
  device: 'Basic <deviceId:secret>',
  customer: 'Bearer <access token>',
  service: 'Bearer <service key>',
};

/** What each strategy's verify function answers: the principal, or why not. */
interface PrincipalStrategy {
  validate(request: FastifyRequest): MaybePromise<Principal | [false, AuthFailure]>;
}

/** Passport reports one challenge per strategy tried; the most telling one explains the refusal. */
function mostTellingFailure(info: unknown): AuthFailure | undefined {
  const failures = (Array.isArray(info) ? info : [info]).filter(
    (item): item is AuthFailure => item instanceof AuthFailure,
  );
  return (
    failures.find((failure) => failure.reason !== 'missing' && failure.reason !== 'malformed') ?? failures[0]
  );
}

/**
 * The one global guard (docs/guide.md#principals-and-authentication): every route declares its principals with @Auth()/@DeviceAuth()/...
 * or @Public(); the matching passport-custom strategies run; a route that declares nothing is refused.
 * Socket.IO connections authenticate in their handshake with the same verification services; a handler
 * in any context but HTTP (a @SubscribeMessage handler) is refused, never let through unauthenticated.
 *
 * A route that accepts one kind asks that strategy directly; one that accepts several runs them on this
 * app's own passport Authenticator, which tries each in turn and gathers their refusals, not passport's
 * process-wide singleton (where @nestjs/passport's AuthGuard looks them up): with two gateways in one
 * process, the second would otherwise authenticate the first one's requests with its own configuration.
 */
@Injectable()
export class PrincipalGuard implements CanActivate {
  private readonly logger = new Logger('Auth');
  private readonly authenticator = new Authenticator();
  private readonly declarations = new WeakMap<object, PrincipalKind[] | 'public'>();
  private readonly strategies: Readonly<Record<PrincipalKind, PrincipalStrategy>>;

  constructor(
    private readonly reflector: Reflector,
    private readonly metrics: MetricsService,
    device: DeviceStrategy,
    customer: CustomerStrategy,
    service: ServiceStrategy,
  ) {
    this.strategies = { device, customer, service };
    this.authenticator.use('device', device);
    this.authenticator.use('customer', customer);
    this.authenticator.use('service', service);
    for (const [kind, reasons] of Object.entries(REFUSAL_REASONS)) metrics.declareAuthFailures(kind, reasons);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') {
      throw new UnguardedContextError(
        context.getType(),
        `${context.getClass().name}.${context.getHandler().name}`,
      );
    }
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & { user?: Principal }>();
    // Already admitted by the same checks before its body was read (AuthenticateBeforeBody).
    if (request.user !== undefined) return true;
    await this.admit(context.getHandler(), context.getClass(), request, http.getResponse<FastifyReply>());
    return true;
  }

  /**
   * Authenticates a request to a handler as its decorators declare, and sets it as `request.user`;
   * undefined for a @Public() handler.
   */
  admit(
    handler: object,
    controller: Type,
    request: FastifyRequest & { user?: Principal },
    reply: FastifyReply,
  ): MaybePromise<Principal | undefined> {
    const kinds = this.declarationOf(handler, controller);
    return kinds === 'public' ? undefined : this.admitAs(kinds, request, reply);
  }

  /**
   * Authenticates a request as one of `kinds` and sets it as `request.user`: for a Nest route through
   * its decorators (admit), for a route registered with Fastify directly through its PrincipalRouteConfig.
   * Synchronous when the strategy answers at once (a known device); a refusal throws or rejects.
   */
  admitAs(
    kinds: readonly PrincipalKind[],
    request: FastifyRequest & { user?: Principal },
    reply: FastifyReply,
  ): MaybePromise<Principal> {
    const admitted = (principal: Principal): Principal => {
      request.user = principal;
      return principal;
    };
    const refused = (error: unknown): never => {
      // Refused before its body was read: closing the connection is cheaper than draining a body that
      // may never finish arriving.
      void reply.header('connection', 'close');
      throw error;
    };
    let outcome: MaybePromise<Principal>;
    try {
      outcome = this.authenticate(kinds, request, reply);
    } catch (error) {
      return refused(error);
    }
    if (outcome instanceof Promise) return outcome.then(admitted, refused);
    return admitted(outcome);
  }

  /** What a handler declares, read from its metadata once (the guard runs on every request). */
  declarationOf(handler: object, controller: Type): PrincipalKind[] | 'public' {
    let declaration = this.declarations.get(handler);
    if (declaration === undefined) {
      const targets = [handler as () => unknown, controller];
      const kinds = this.reflector.getAllAndOverride<PrincipalKind[] | undefined>(
        ACCEPTED_PRINCIPALS,
        targets,
      );
      if (this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets)) declaration = 'public';
      else if (kinds && kinds.length > 0) declaration = kinds;
      else throw new RouteWithoutPrincipalError(`${controller.name}.${(handler as () => unknown).name}`);
      this.declarations.set(handler, declaration);
    }
    return declaration;
  }

  private authenticate(
    kinds: readonly PrincipalKind[],
    request: FastifyRequest,
    response: unknown,
  ): MaybePromise<Principal> {
    const [only] = kinds;
    if (kinds.length === 1 && only !== undefined) {
      // One kind (every device route, the heartbeat among them): its strategy decides alone, so it is
      // asked directly. Passport's middleware would add nothing but its per-request cost, which includes
      // six login helpers assigned onto each request object.
      return whenReady(this.strategies[only].validate(request), (result) => {
        if (!Array.isArray(result)) return result;
        throw this.refusal(kinds, request, result[1]);
      });
    }
    return new Promise<Principal>((resolve, reject) => {
      const middleware = this.authenticator.authenticate(
        [...kinds],
        { session: false },
        (error: unknown, principal: Principal | false, info: unknown) => {
          if (error) {
            reject(error instanceof Error ? error : new Error('Authentication failed'));
          } else if (principal) {
            resolve(principal);
          } else {
            reject(this.refusal(kinds, request, info));
          }
        },
      ) as (request: unknown, response: unknown, next: (error?: unknown) => void) => void;
      // Passport calls next() only when a strategy neither succeeds nor fails, which ours never do.
      middleware(request, response, () => {
        reject(new Error('No authentication strategy decided'));
      });
    });
  }

  private refusal(kinds: readonly PrincipalKind[], request: FastifyRequest, info: unknown): Error {
    const failure = mostTellingFailure(info);
    const reason = failure?.reason ?? 'missing';
    this.metrics.countAuthFailure(kinds.join('|'), reason);
    // Never the credential itself: only which kind was refused and why.
    this.logger.warn(
      {
        requestId: request.id,
        route: request.routeOptions.url,
        principals: kinds,
        reason,
        detail: failure?.detail,
      },
      'Authentication refused',
    );
    return refusalFor(reason, kinds.map((kind) => CREDENTIAL_FORMS[kind]).join(' or '));
  }
}

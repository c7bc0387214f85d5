import { type CanActivate, type ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard, type IAuthGuard } from '@nestjs/passport';
import { type FastifyRequest } from 'fastify';
import { MetricsService } from '../infra/metrics/metrics.service';
import { ACCEPTED_PRINCIPALS } from './auth.decorators';
import {
  AuthFailure,
  InvalidCredentialsError,
  MissingCredentialsError,
  RouteWithoutPrincipalError,
  TokenExpiredError,
} from './auth.errors';
import { type Principal, type PrincipalKind } from './principal';
import { IS_PUBLIC } from './public.decorator';

const CREDENTIAL_FORMS: Record<PrincipalKind, string> = {
  device: 'Basic <deviceId:secret>',
  customer: 'Bearer <access token>',
  service: 'Bearer <service key>',
};

/** Passport reports one challenge per strategy tried; the most telling one explains the refusal. */
function mostTellingFailure(info: unknown): AuthFailure | undefined {
  const failures = (Array.isArray(info) ? info : [info]).filter(
    (item): item is AuthFailure => item instanceof AuthFailure,
  );
  return failures.find((failure) => failure.reason !== 'missing' && failure.reason !== 'malformed') ?? failures[0];
}

/**
 * The one global guard (PRODUCT §2): every route declares its principals with @Auth()/@DeviceAuth()/...
 * or @Public(); the matching passport-custom strategies run; a route that declares nothing is refused.
 * Socket.IO connections authenticate in their handshake with the same verification services.
 */
@Injectable()
export class PrincipalGuard implements CanActivate {
  private readonly logger = new Logger('Auth');
  private readonly passportGuards = new Map<string, IAuthGuard>();

  constructor(
    private readonly reflector: Reflector,
    private readonly metrics: MetricsService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets)) return true;
    const kinds = this.reflector.getAllAndOverride<PrincipalKind[] | undefined>(ACCEPTED_PRINCIPALS, targets);
    if (!kinds || kinds.length === 0) {
      throw new RouteWithoutPrincipalError(`${context.getClass().name}.${context.getHandler().name}`);
    }
    return this.passportGuardFor(kinds).canActivate(context) as Promise<boolean>;
  }

  private passportGuardFor(kinds: PrincipalKind[]): IAuthGuard {
    const key = kinds.join(',');
    let guard = this.passportGuards.get(key);
    if (!guard) {
      guard = this.createPassportGuard(kinds);
      this.passportGuards.set(key, guard);
    }
    return guard;
  }

  private createPassportGuard(kinds: PrincipalKind[]): IAuthGuard {
    const logger = this.logger;
    const metrics = this.metrics;
    const accepted = kinds.map((kind) => CREDENTIAL_FORMS[kind]).join(' or ');
    class PassportGuard extends AuthGuard(kinds) {
      override handleRequest<TUser = Principal>(
        error: unknown,
        principal: TUser | false,
        info: unknown,
        context: ExecutionContext,
      ): TUser {
        if (error) throw error;
        if (principal) return principal;
        const failure = mostTellingFailure(info);
        const reason = failure?.reason ?? 'missing';
        const request = context.switchToHttp().getRequest<FastifyRequest>();
        metrics.countAuthFailure(kinds.join('|'), reason);
        // Never the credential itself: only which kind was refused and why.
        logger.warn({ requestId: request.id, route: request.routeOptions.url, principals: kinds, reason, detail: failure?.detail }, 'Authentication refused');
        if (reason === 'missing') throw new MissingCredentialsError(accepted);
        if (reason === 'expired') throw new TokenExpiredError();
        throw new InvalidCredentialsError();
      }
    }
    return new PassportGuard();
  }
}

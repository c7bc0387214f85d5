import { type Type } from '@nestjs/common';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { type Principal, type PrincipalKind } from '../../auth/principal';

/**
 * How a route outside Nest's router (a hot route) gets its caller authenticated: the port the global
 * PrincipalGuard implements (AuthModule provides it with useExisting), so a hot route is admitted by
 * exactly the checks a Nest route is.
 */
export abstract class RouteAuthenticator {
  /** What a handler's decorators declare: the principals it accepts, or 'public'. Throws if nothing. */
  abstract declarationOf(handler: object, controller: Type): PrincipalKind[] | 'public';

  /** Authenticates the request for the handler and sets `request.user`; undefined for a public one. */
  abstract admit(
    handler: object,
    controller: Type,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<Principal | undefined>;
}

import { applyDecorators, createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import {
  type CustomerPrincipal,
  type DevicePrincipal,
  type Principal,
  type PrincipalKind,
  type ServicePrincipal,
} from './principal';

export { Public } from './public.decorator';

export const ACCEPTED_PRINCIPALS = 'auth:principals';

/** The principals that may call a route; the global guard accepts any one of them. */
export const Auth = (...kinds: [PrincipalKind, ...PrincipalKind[]]): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ACCEPTED_PRINCIPALS, kinds));

export const DeviceAuth = (): MethodDecorator & ClassDecorator => Auth('device');
export const CustomerAuth = (): MethodDecorator & ClassDecorator => Auth('customer');
export const ServiceAuth = (): MethodDecorator & ClassDecorator => Auth('service');

interface RequestWithPrincipal {
  user?: Principal;
}

function principalOf(context: ExecutionContext): Principal {
  const principal = context.switchToHttp().getRequest<RequestWithPrincipal>().user;
  if (!principal) throw new Error('No principal on the request: is the route declared @Public()?');
  return principal;
}

function principalOfKind<K extends PrincipalKind>(...kinds: K[]) {
  return (_: unknown, context: ExecutionContext): Extract<Principal, { kind: K }> => {
    const principal = principalOf(context);
    if (!(kinds as PrincipalKind[]).includes(principal.kind)) {
      throw new Error(`Expected a ${kinds.join(' or ')} principal, got ${principal.kind}`);
    }
    return principal as Extract<Principal, { kind: K }>;
  };
}

export const CurrentDevice = createParamDecorator<unknown, DevicePrincipal>(principalOfKind('device'));
export const CurrentCustomer = createParamDecorator<unknown, CustomerPrincipal>(principalOfKind('customer'));
export const CurrentService = createParamDecorator<unknown, ServicePrincipal>(principalOfKind('service'));
/** The principal of a route declared `@Auth('customer', 'service')`. */
export const CurrentCustomerOrService = createParamDecorator<unknown, CustomerPrincipal | ServicePrincipal>(
  principalOfKind('customer', 'service'),
);

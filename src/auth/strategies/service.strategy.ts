import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { type FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import { AuthFailure } from '../auth.errors';
import { type ServicePrincipal } from '../principal';
import { ServiceKeyVerifier } from '../service-key.verifier';
import { parseBearer } from './bearer';

@Injectable()
export class ServiceStrategy extends PassportStrategy(Strategy, 'service') {
  constructor(private readonly verifier: ServiceKeyVerifier) {
    super();
  }

  validate(request: FastifyRequest): ServicePrincipal | [false, AuthFailure] {
    const key = parseBearer(request.headers.authorization);
    if (key instanceof AuthFailure) return [false, key];
    const result = this.verifier.verify(key);
    return result instanceof AuthFailure ? [false, result] : result;
  }
}

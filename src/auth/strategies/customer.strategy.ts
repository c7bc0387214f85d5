import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { type FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import { AuthFailure } from '../auth.errors';
import { CustomerTokenVerifier } from '../customer-token.verifier';
import { type CustomerPrincipal } from '../principal';
import { parseBearer } from './bearer';

@Injectable()
export class CustomerStrategy extends PassportStrategy(Strategy, 'customer') {
  constructor(private readonly verifier: CustomerTokenVerifier) {
    super();
  }

  async validate(request: FastifyRequest): Promise<CustomerPrincipal | [false, AuthFailure]> {
    const token = parseBearer(request.headers.authorization);
    if (token instanceof AuthFailure) return [false, token];
    const result = await this.verifier.verify(token);
    return result instanceof AuthFailure ? [false, result] : result;
  }
}

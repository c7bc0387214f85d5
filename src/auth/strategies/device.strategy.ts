import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { type FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import { AuthFailure } from '../auth.errors';
import { type MaybePromise, whenReady } from '../../common/maybe-promise';
import { DeviceCredentialsService } from '../device-credentials.service';
import { type DevicePrincipal } from '../principal';

/** `Authorization: Basic base64(<deviceId>:<secret>)`. */
export function parseBasic(header: string | undefined): { id: string; secret: string } | AuthFailure {
  if (header === undefined) return new AuthFailure('missing', 'no Authorization header');
  const match = /^Basic ([A-Za-z0-9+/=_-]{1,1024})$/i.exec(header.trim());
  if (!match?.[1]) return new AuthFailure('malformed', 'not a Basic credential');
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator <= 0 || separator === decoded.length - 1) {
    return new AuthFailure('malformed', 'Basic credential is not id:secret');
  }
  return { id: decoded.slice(0, separator), secret: decoded.slice(separator + 1) };
}

@Injectable()
export class DeviceStrategy extends PassportStrategy(Strategy, 'device') {
  constructor(private readonly credentials: DeviceCredentialsService) {
    super();
  }

  validate(request: FastifyRequest): MaybePromise<DevicePrincipal | [false, AuthFailure]> {
    const basic = parseBasic(request.headers.authorization);
    if (basic instanceof AuthFailure) return [false, basic];
    return whenReady(this.credentials.verify(basic.id, basic.secret), (result) =>
      result instanceof AuthFailure ? [false, result] : result,
    );
  }
}

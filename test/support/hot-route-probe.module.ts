import { Controller, Module } from '@nestjs/common';
import { IsInt } from 'class-validator';
import { ServiceAuth } from '../../src/auth/auth.decorators';
import { DependencyUnavailableError } from '../../src/common/errors/common.errors';
import { HotRoute } from '../../src/common/http/hot-route';
import { INTERNAL_FAILURE_MESSAGE } from './error-probe.module';

/** A service key for the probe's routes: SERVICE_KEYS=`${HOT_PROBE_SERVICE_KEYS}`. */
export const HOT_PROBE_KEY = 'hot-probe-key-0123456789abcdef0123456789';
export const HOT_PROBE_SERVICE_KEYS = `probe:${HOT_PROBE_KEY}`;

class HotProbeDto {
  @IsInt()
  n!: number;
}

const HOT_PROBE = {
  method: 'POST',
  principal: 'service',
  status: 200,
  body: HotProbeDto,
  response: { type: 'object', properties: { n: { type: 'integer' } }, additionalProperties: false },
} as const;

/** Hot routes that fail the ways a real one can, to check their errors reach the ProblemFilter. */
@ServiceAuth()
@Controller('test/hot')
class HotRouteProbeController {
  @HotRoute({ ...HOT_PROBE, path: 'boom' })
  boom(): Promise<never> {
    return Promise.reject(new Error(INTERNAL_FAILURE_MESSAGE));
  }

  @HotRoute({ ...HOT_PROBE, path: 'cache-down' })
  cacheDown(): Promise<never> {
    return Promise.reject(new DependencyUnavailableError('cache', new Error('connect ECONNREFUSED')));
  }
}

@Module({ controllers: [HotRouteProbeController] })
export class HotRouteProbeModule {}

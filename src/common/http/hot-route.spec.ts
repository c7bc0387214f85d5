import { Controller, Post } from '@nestjs/common';
import { IsInt } from 'class-validator';
import { HotRoute, hotRoutesOf } from './hot-route';

class PingDto {
  @IsInt()
  count!: number;
}

const RESPONSE = { type: 'object', properties: { ok: { type: 'boolean' } } };

@Controller('/v1/probe/')
class ProbeController {
  @Post('slow')
  slow(): string {
    return 'through Nest';
  }

  @HotRoute({ method: 'POST', path: '/ping/', status: 200, body: PingDto, response: RESPONSE })
  ping(_principal: unknown, body: PingDto): Promise<{ ok: boolean }> {
    return Promise.resolve({ ok: body.count > 0 });
  }
}

@Controller(['a', 'b'])
class TwoPathController {
  @HotRoute({ method: 'PUT', path: 'x', status: 204, body: PingDto, response: RESPONSE })
  x(): Promise<void> {
    return Promise.resolve();
  }
}

describe('hotRoutesOf', () => {
  it('finds only the @HotRoute() methods, with the controller path joined to theirs', () => {
    const routes = hotRoutesOf(ProbeController);

    expect(routes.map(({ url, methodName, spec }) => ({ url, methodName, method: spec.method }))).toEqual([
      { url: '/v1/probe/ping', methodName: 'ping', method: 'POST' },
    ]);
    expect(routes[0]?.handler).toBe(
      Object.getOwnPropertyDescriptor(ProbeController.prototype, 'ping')?.value,
    );
  });

  it('finds none on a controller without hot routes', () => {
    @Controller('plain')
    class PlainController {
      @Post()
      create(): string {
        return 'ok';
      }
    }

    expect(hotRoutesOf(PlainController)).toEqual([]);
  });

  it('refuses a controller with several paths instead of guessing which one serves the route', () => {
    expect(() => hotRoutesOf(TwoPathController)).toThrow(/single string path/);
  });
});

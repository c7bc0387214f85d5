import { type CanActivate, Controller, Post, UseGuards } from '@nestjs/common';
import { IsInt } from 'class-validator';
import { type DevicePrincipal } from '../../auth/principal';
import { HotRoute, hotRoutesOf } from './hot-route';

class PingDto {
  @IsInt()
  count!: number;
}

const RESPONSE = { type: 'object', properties: { ok: { type: 'boolean' } } };
const PING = { method: 'POST', status: 200, principal: 'device', body: PingDto, response: RESPONSE } as const;

class AllowAll implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Controller('/v1/probe/')
class ProbeController {
  @Post('slow')
  slow(): string {
    return 'through Nest';
  }

  @HotRoute({ ...PING, path: '/ping/' })
  ping(device: DevicePrincipal, body: PingDto): Promise<{ ok: boolean }> {
    return Promise.resolve({ ok: body.count > 0 && device.kind === 'device' });
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
    @Controller(['a', 'b'])
    class TwoPathController {
      @HotRoute({ ...PING, path: 'x' })
      x(): Promise<void> {
        return Promise.resolve();
      }
    }

    expect(() => hotRoutesOf(TwoPathController)).toThrow(/single string path/);
  });

  it('refuses a route-level guard, which Nest would run but a hot route cannot', () => {
    @Controller('guarded')
    class GuardedController {
      @UseGuards(AllowAll)
      @HotRoute({ ...PING, path: 'x' })
      x(): Promise<void> {
        return Promise.resolve();
      }
    }
    @UseGuards(AllowAll)
    @Controller('guarded-class')
    class GuardedClassController {
      @HotRoute({ ...PING, path: 'x' })
      x(): Promise<void> {
        return Promise.resolve();
      }
    }

    expect(() => hotRoutesOf(GuardedController)).toThrow(/cannot use @UseGuards\(\)/);
    expect(() => hotRoutesOf(GuardedClassController)).toThrow(/cannot use @UseGuards\(\)/);
  });
});

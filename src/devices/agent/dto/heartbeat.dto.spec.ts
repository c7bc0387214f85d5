import 'reflect-metadata';
import { HeartbeatDto } from './heartbeat.dto';
import { SchemaValidator } from '../../../common/validation/schema-validator';

describe('SchemaValidator (JSON Schema generated from class-validator DTOs)', () => {
  const heartbeat = new SchemaValidator(HeartbeatDto);

  it('accepts IPv4 and IPv6 where the DTO says @IsIP()', () => {
    for (const publicIp of ['203.0.113.7', '2001:db8::1']) {
      expect(heartbeat.check({ uptimeSec: 1, network: { publicIp } })).toEqual({
        value: { uptimeSec: 1, network: { publicIp } },
      });
    }
    const refused = heartbeat.check({ uptimeSec: 1, network: { publicIp: 'example.com' } });
    expect('errors' in refused && new Set(refused.errors.map((error) => error.field))).toEqual(
      new Set(['network.publicIp']),
    );
  });

  it('refuses unknown fields at every depth and wrong types without coercing them', () => {
    const result = heartbeat.check({ uptimeSec: '5', extra: 1, metrics: { cpuPct: 10, fanRpm: 3 } });
    expect('errors' in result && result.errors.map((error) => error.field).sort()).toEqual([
      'extra',
      'metrics.fanRpm',
      'uptimeSec',
    ]);
  });

  it('validates each network interface against its own DTO', () => {
    const valid = {
      uptimeSec: 1,
      network: { interfaces: [{ name: 'eth0', up: true, mac: 'aa:bb:cc:dd:ee:ff' }] },
    };
    expect(heartbeat.check(valid)).toEqual({ value: valid });

    const result = heartbeat.check({
      uptimeSec: 1,
      network: {
        interfaces: [
          { name: 'eth0', up: 'yes' },
          { name: 'wlan0', speed: 1 },
        ],
      },
    });
    expect('errors' in result && result.errors.map((error) => error.field).sort()).toEqual([
      'network.interfaces.0.up',
      'network.interfaces.1.speed',
    ]);
  });

  it.each([Infinity, -Infinity, NaN])(
    'refuses %p where a number is required, as JSON cannot store it',
    (value) => {
      const unbounded = heartbeat.check({ uptimeSec: value });
      const bounded = heartbeat.check({ uptimeSec: 1, network: { latencyMs: value } });
      expect('errors' in unbounded && unbounded.errors.map((error) => error.field)).toEqual(['uptimeSec']);
      expect('errors' in bounded && bounded.errors.map((error) => error.field)).toContain(
        'network.latencyMs',
      );
    },
  );

  it.each([null, 'text', 42, [], undefined])('refuses %p as a payload', (payload) => {
    expect(heartbeat.check(payload)).toHaveProperty('errors');
  });
});

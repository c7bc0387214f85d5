// DTO decorators need the Reflect metadata API before the DTO modules load.
import 'reflect-metadata';
import { type Type } from '@nestjs/common';
import fc from 'fast-check';
import { HeartbeatDto } from '../../src/devices/agent/dto/heartbeat.dto';
import { RegisterAgentDto } from '../../src/devices/agent/dto/register-agent.dto';
import { jsonSchemaOf } from '../../src/common/validation/dto-schema';
import { SchemaValidator } from '../../src/common/validation/schema-validator';
import { unstorableInput } from '../../src/common/validation/storable-input';
import { CreateDeviceDto } from '../../src/devices/dto/create-device.dto';
import { UpdateDeviceDto } from '../../src/devices/dto/update-device.dto';
import { AuthRefreshDto } from '../../src/realtime/dto/auth-refresh.dto';
import { DeviceSubscriptionDto } from '../../src/devices/dto/device-subscription.dto';
import { abbreviateReport } from './fuzz-budget';
import { parsedOnServer, toJsonText } from './json-text';
import { SchemaArbitraries } from './schema-arbitrary';

const DTOS: Type[] = [
  CreateDeviceDto,
  UpdateDeviceDto,
  RegisterAgentDto,
  HeartbeatDto,
  DeviceSubscriptionDto,
  AuthRefreshDto,
];

/**
 * The generator the fuzz properties stand on (no I/O): if it stopped producing valid values, or stopped
 * producing hostile ones, the properties would still pass while testing much less.
 */
describe('the fuzz input builder', () => {
  it.each(DTOS.map((dto) => [dto.name, dto] as const))(
    'generates %s values the gateway must accept, and hostile ones, in similar shares',
    (_, dto) => {
      const validator = new SchemaValidator(dto);
      const samples = fc.sample(new SchemaArbitraries(jsonSchemaOf(dto)).fuzzed(), { numRuns: 250, seed: 7 });
      const accepted = (value: unknown): boolean =>
        'value' in validator.check(parsedOnServer(value)) &&
        unstorableInput(parsedOnServer(value)).length === 0;

      const unmutated = samples.filter((sample) => sample.mutations.length === 0);
      expect(
        unmutated.filter((sample) => !accepted(sample.value)).map((sample) => toJsonText(sample.value)),
      ).toEqual([]);
      const refused = samples.filter((sample) => !accepted(sample.value));
      expect(unmutated.length).toBeGreaterThan(samples.length * 0.25);
      expect(refused.length).toBeGreaterThan(samples.length * 0.35);
    },
  );

  it('reaches every kind of hostile input', () => {
    const samples = fc.sample(new SchemaArbitraries(jsonSchemaOf(HeartbeatDto)).fuzzed(), {
      numRuns: 600,
      seed: 7,
    });
    const texts = samples.map((sample) => toJsonText(sample.value));
    const descriptions = samples.flatMap((sample) => sample.mutations).join('\n');

    for (const kind of [
      '"\\u0000" inserted',
      'a leading byte-order mark',
      'code points',
      'an edge number',
      'a wrong type',
      'deep nesting',
      'wrapped in an array',
      'unknown key "__proto__"',
      'unknown key "constructor"',
      'without uptimeSec',
      '33 items',
      'a near-ipv',
    ]) {
      expect({ kind, found: descriptions.includes(kind) }).toEqual({ kind, found: true });
    }
    for (const spelling of ['1e999', '-0', '9007199254740993', '\\ud83d', '\u{1f600}', '\ufe0f', '\u202e']) {
      expect({ spelling, found: texts.some((text) => text.includes(spelling)) }).toEqual({
        spelling,
        found: true,
      });
    }
  });

  it('stops at a schema keyword or format it cannot generate instead of ignoring it', () => {
    expect(() => new SchemaArbitraries({ type: 'string', format: 'email' }).fuzzed()).toThrow(/email/);
    expect(() => new SchemaArbitraries({ type: 'integer', multipleOf: 5 }).fuzzed()).toThrow(/multipleOf/);
  });

  it('abbreviates long runs in a failure report', () => {
    const report = abbreviateReport(`name: "${'\\u0000'.repeat(5000)}"`);

    expect(report).toBe('name: "\\u0000\\u0000\\u0000…[\\u0000 × 5000]"');
  });
});

import 'reflect-metadata';
import { SchemaValidator } from '../../common/validation/schema-validator';
import { CreateDeviceDto } from './create-device.dto';

describe('CreateDeviceDto as JSON Schema', () => {
  const validator = new SchemaValidator(CreateDeviceDto);

  it("reports a serial that breaks its pattern with the DTO's own message", () => {
    expect(validator.check({ name: 'Office router', serial: 'SN 1' })).toEqual({
      errors: [{ field: 'serial', message: 'serial must be printable ASCII without spaces' }],
    });
  });

  it('accepts a printable serial', () => {
    expect(validator.check({ name: 'Office router', serial: 'SN-1' })).toEqual({
      value: { name: 'Office router', serial: 'SN-1' },
    });
  });
});

import { type ValidationError } from '@nestjs/common';
import { toFieldErrors } from './validation';

function validationError(
  property: string,
  constraints?: Record<string, string>,
  children: ValidationError[] = [],
) {
  return { property, constraints, children } as ValidationError;
}

describe('toFieldErrors', () => {
  it('names nested and array fields by their path', () => {
    const errors = [
      validationError('name', { isString: 'name must be a string' }),
      validationError('hardware', undefined, [
        validationError('model', { isNotEmpty: 'model should not be empty' }),
      ]),
      validationError('interfaces', undefined, [
        validationError('1', undefined, [
          validationError('mac', { isMacAddress: 'mac must be a MAC address' }),
        ]),
      ]),
    ];

    expect(toFieldErrors(errors)).toEqual([
      { field: 'name', message: 'name must be a string' },
      { field: 'hardware.model', message: 'model should not be empty' },
      { field: 'interfaces.1.mac', message: 'mac must be a MAC address' },
    ]);
  });

  it('reports every constraint a field broke', () => {
    const errors = [
      validationError('serial', { isString: 'serial must be a string', maxLength: 'serial is too long' }),
    ];

    expect(toFieldErrors(errors)).toHaveLength(2);
  });
});

import { type Type } from '@nestjs/common';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { type FieldError } from '../errors/domain-error';
import { jsonSchemaOf } from '../http/body-schema';

/**
 * Validates Socket.IO event payloads against the JSON Schema of a class-validator DTO, compiled once:
 * the same rules as the HTTP bodies, at the cost of a compiled function call per event. Options match
 * the HTTP route schemas: unknown fields are errors, nothing is coerced or defaulted.
 */
export class SchemaValidator<T> {
  private static readonly ajv = addFormats(
    new Ajv({
      allErrors: true,
      removeAdditional: false,
      coerceTypes: false,
      useDefaults: false,
      strict: false,
      // `strict: false` turns this off too, and a socket payload parsed from `1e999` holds Infinity:
      // it passed as an integer and was stored as null (JSON has no Infinity). Fastify's own validator
      // keeps the default, so HTTP bodies already refused it.
      strictNumbers: true,
    }),
  );

  private readonly validate: ValidateFunction;

  constructor(dto: Type<T>) {
    this.validate = SchemaValidator.ajv.compile(jsonSchemaOf(dto));
  }

  /** The payload typed as the DTO when valid, else the field errors (the shape HTTP problems use). */
  check(payload: unknown): { value: T } | { errors: FieldError[] } {
    if (this.validate(payload)) return { value: payload as T };
    return { errors: (this.validate.errors ?? []).map(toFieldError) };
  }
}

export function toFieldError(
  violation: Pick<ErrorObject, 'instancePath' | 'keyword' | 'params' | 'message'>,
): FieldError {
  const path = violation.instancePath.split('/').filter(Boolean);
  const params = violation.params as Record<string, unknown>;
  const extra = params.additionalProperty ?? params.missingProperty;
  if (typeof extra === 'string') path.push(extra);
  const field = path.join('.') || 'payload';
  const message =
    violation.keyword === 'additionalProperties'
      ? `property ${field} should not exist`
      : violation.keyword === 'required'
        ? `${field} is required`
        : `${field} ${violation.message ?? 'is not valid'}`;
  return { field, message };
}

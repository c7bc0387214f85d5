import { type Type } from '@nestjs/common';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { type FieldError } from '../errors/domain-error';
import { jsonSchemaOf, PATTERN_MESSAGE } from './dto-schema';
import { NETWORK_ADDRESS_FORMATS } from './network-address';

/**
 * The app's one JSON Schema validator, for HTTP bodies (Fastify's validator compiler, set in
 * app.factory.ts) and socket payloads (SchemaValidator) alike: unknown fields are errors, nothing is
 * coerced or defaulted, every violation is reported.
 */
const ajv = addFormats(
  new Ajv({
    allErrors: true,
    removeAdditional: false,
    coerceTypes: false,
    useDefaults: false,
    // The schemas come from class-validator-jsonschema, which emits keywords ajv's strict mode rejects.
    strict: false,
    // `strict: false` turns this off too, and a socket payload parsed from `1e999` holds Infinity: it
    // would pass as an integer and be stored as null (JSON has no Infinity).
    strictNumbers: true,
    // Errors carry the schema they broke, where a DTO's own message for a pattern is kept.
    verbose: true,
  }),
);
for (const { format, validate } of Object.values(NETWORK_ADDRESS_FORMATS)) {
  ajv.addFormat(format, { type: 'string', validate });
}

export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  return ajv.compile(schema);
}

/** Validates payloads against the JSON Schema of a class-validator DTO, compiled once. */
export class SchemaValidator<T> {
  private readonly validate: ValidateFunction;

  constructor(dto: Type<T>) {
    this.validate = compileSchema(jsonSchemaOf(dto));
  }

  /** The payload typed as the DTO when valid, else the field errors (the shape HTTP problems use). */
  check(payload: unknown): { value: T } | { errors: FieldError[] } {
    if (this.validate(payload)) return { value: payload as T };
    return { errors: (this.validate.errors ?? []).map(toFieldError) };
  }
}

export function toFieldError(
  violation: Pick<ErrorObject, 'instancePath' | 'keyword' | 'params' | 'message' | 'parentSchema'>,
): FieldError {
  const path = violation.instancePath.split('/').filter(Boolean);
  const params = violation.params as Record<string, unknown>;
  const extra = params.additionalProperty ?? params.missingProperty;
  if (typeof extra === 'string') path.push(extra);
  const field = path.join('.') || 'payload';
  const patternMessage: unknown =
    violation.keyword === 'pattern' ? violation.parentSchema?.[PATTERN_MESSAGE] : undefined;
  const message =
    typeof patternMessage === 'string'
      ? patternMessage
      : violation.keyword === 'additionalProperties'
        ? `property ${field} should not exist`
        : violation.keyword === 'required'
          ? `${field} is required`
          : `${field} ${violation.message ?? 'is not valid'}`;
  return { field, message };
}

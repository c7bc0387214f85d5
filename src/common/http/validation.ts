import { type ArgumentMetadata, type Type, ValidationPipe, type ValidationError } from '@nestjs/common';
import { ValidationFailedError } from '../errors/common.errors';
import { type FieldError } from '../errors/domain-error';
import { jsonSchemaOf } from '../validation/dto-schema';

/** Flattens nested class-validator errors into `{ field: "hardware.model", message }` pairs. */
export function toFieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...toFieldErrors(error.children ?? [], field)];
  });
}

/**
 * Queries and path parameters. Bodies are validated against their DTO's JSON Schema before Nest runs
 * (@BodySchema; the route-declarations test checks that every route taking a body declares one).
 * class-validator judges the object class-transformer built, which drops query
 * fields named after Object built-ins (`constructor`, `toString`) before they can be refused: the raw
 * query's field names are therefore checked against the DTO too.
 */
class RawInputValidationPipe extends ValidationPipe {
  private readonly queryFields = new Map<Type, Set<string>>();

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const dto = metadata.metatype;
    // Judged before super.transform, which deletes `constructor` and `prototype` keys from the input;
    // reported after it, so that class-validator's messages come first.
    const rawErrors =
      dto !== undefined && this.toValidate(metadata) && metadata.type === 'query'
        ? this.unknownQueryFields(dto, value)
        : [];
    const transformed: unknown = await super.transform(value, metadata);
    if (rawErrors.length > 0) throw new ValidationFailedError(rawErrors);
    return transformed;
  }

  /** Query values arrive as strings that class-transformer converts, so only their names are checked. */
  private unknownQueryFields(dto: Type, value: unknown): FieldError[] {
    let known = this.queryFields.get(dto);
    if (!known) {
      known = new Set(Object.keys(jsonSchemaOf(dto).properties ?? {}));
      this.queryFields.set(dto, known);
    }
    if (typeof value !== 'object' || value === null) return [];
    return Object.keys(value)
      .filter((field) => !known.has(field))
      .map((field) => ({ field, message: `property ${field} should not exist` }));
  }
}

/** Queries and params: unknown fields are refused, never silently dropped. */
export function createValidationPipe(): ValidationPipe {
  return new RawInputValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new ValidationFailedError(toFieldErrors(errors)),
  });
}

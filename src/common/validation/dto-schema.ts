import { type Type } from '@nestjs/common';
import { IS_IP, MATCHES } from 'class-validator';
import { validationMetadatasToSchemas } from 'class-validator-jsonschema';
import { NETWORK_ADDRESS_FORMATS } from './network-address';

export type JsonSchema = Record<string, unknown>;

type SchemaOptions = NonNullable<Parameters<typeof validationMetadatasToSchemas>[0]>;

let definitions: Record<string, JsonSchema> | undefined;
/**
 * One schema object per DTO for the life of the process: the app's ajv caches what it compiled by the
 * schema object, so a fresh object per call would compile, and keep, the same validator again.
 */
const schemas = new Map<Type, JsonSchema>();
/** Which DTO each of those schemas is, for the API documents that name them (dtoNameOf). */
const names = new WeakMap<JsonSchema, string>();

/**
 * Where the DTO's own message for a @Matches() rule goes, so that a client reads it rather than the
 * pattern (toFieldError); ajv ignores keywords it does not know.
 */
export const PATTERN_MESSAGE = 'x-pattern-message';

/**
 * Where the library's translation differs from class-validator's own rule: @IsIP() without a version
 * accepts IPv4 and IPv6, but the default converter emits IPv4 only; @Matches() loses its message. The
 * network address rules (@IsNetworkHost and its kin) become formats that the app's ajv checks with the
 * same functions.
 */
const CONVERTERS: SchemaOptions['additionalConverters'] = {
  [MATCHES]: (meta) => {
    const pattern = meta.constraints[0] as RegExp;
    const message = typeof meta.message === 'string' ? { [PATTERN_MESSAGE]: meta.message } : {};
    return { type: 'string', pattern: pattern.source, ...message };
  },
  [IS_IP]: (meta) => {
    const version = String(meta.constraints[0] ?? '');
    if (version === '4' || version === '6') return { type: 'string', format: `ipv${version}` };
    return { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] };
  },
  ...Object.fromEntries(
    Object.entries(NETWORK_ADDRESS_FORMATS).map(([name, { format, maxLength }]) => [
      name,
      { type: 'string', format, maxLength },
    ]),
  ),
};

/**
 * Marks a property whose value is free-form JSON the gateway stores as it is (a command's `output`):
 * `@JSONSchema({ type: 'object', [OPEN_OBJECT]: true })`. Every other object is closed.
 */
export const OPEN_OBJECT = 'x-open-object';

/** Unknown fields are refused, so every object in a body schema is closed. */
function closeObjects(schema: JsonSchema): JsonSchema {
  if (schema[OPEN_OBJECT] === true) return schema;
  if (schema.type === 'object' || schema.properties !== undefined) {
    schema.additionalProperties = false;
    schema.type = 'object';
  }
  for (const value of Object.values(schema)) {
    if (Array.isArray(value)) {
      value.forEach((item) => {
        if (typeof item === 'object' && item !== null) closeObjects(item as JsonSchema);
      });
    } else if (typeof value === 'object' && value !== null) {
      closeObjects(value as JsonSchema);
    }
  }
  return schema;
}

/**
 * JSON Schema of a class-validator DTO; the DTO stays the one source of truth for its rules. A nested
 * DTO is found from its property's declared type (`design:type`); an array of DTOs names its items with
 * class-validator-jsonschema's @JSONSchema, as class-transformer's @Type() is not readable through its
 * public API.
 */
export function jsonSchemaOf(dto: Type): JsonSchema {
  const known = schemas.get(dto);
  if (known) return known;
  // Regenerated when a DTO is asked for that was not yet loaded when the schemas were last generated.
  if (definitions?.[dto.name] === undefined) {
    definitions = Object.fromEntries(
      Object.entries(
        validationMetadatasToSchemas({
          refPointerPrefix: '#/definitions/',
          additionalConverters: CONVERTERS,
        }),
      ).map(([name, schema]) => [name, closeObjects(schema as JsonSchema)]),
    );
  }
  const own = definitions[dto.name];
  if (!own) throw new Error(`${dto.name} has no class-validator rules`);
  const schema = { ...own, definitions };
  schemas.set(dto, schema);
  names.set(schema, dto.name);
  return schema;
}

/** The class name of the DTO a schema was generated from by jsonSchemaOf, if it was. */
export function dtoNameOf(schema: unknown): string | undefined {
  return typeof schema === 'object' && schema !== null ? names.get(schema as JsonSchema) : undefined;
}

import { type Type } from '@nestjs/common';
import { dtoNameOf, jsonSchemaOf, type JsonSchema } from '../validation/dto-schema';

declare const TYPE: unique symbol;

/**
 * Where a named schema goes: the renderer returns what stands in its place (a `$ref`, or the schema
 * inline). Without `render`, the name is defined by another part of the document (namedElsewhere).
 */
export type NamedSchemaResolver = (name: string, render?: () => JsonSchema) => JsonSchema;

/**
 * The JSON Schema of a value of type T, for the API documents (and, inlined, for Fastify's serializer).
 * The type parameter is invariant, so `object<DeviceResponse>({...})` fails to compile when a field is
 * missing, extra, or declared nullable (or optional) where the type is not: the schema of a response
 * cannot drift from the interface the code returns.
 */
export interface Schema<T> extends AnySchema {
  /** Never set: it only carries T, both ways. */
  readonly [TYPE]?: (value: T) => T;
}

/** A schema of whatever type: where any will do (a route's documented answers). */
export interface AnySchema {
  render(resolve: NamedSchemaResolver): JsonSchema;
  /** Left out of its object's `required`. */
  readonly optional: boolean;
}

/** What a schema describes. */
export type SchemaType<S> = S extends Schema<infer T> ? T : never;

interface Annotations {
  description?: string;
  examples?: unknown[];
}

function leaf<T>(json: JsonSchema, optional = false): Schema<T> {
  return { render: () => structuredClone(json), optional };
}

function annotate(json: JsonSchema, annotations: Annotations | undefined): JsonSchema {
  if (annotations?.description !== undefined) json.description = annotations.description;
  if (annotations?.examples !== undefined) json.examples = annotations.examples;
  return json;
}

export interface StringOptions extends Annotations {
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
}

export function string(options: StringOptions = {}): Schema<string> {
  const { description, examples, ...rules } = options;
  return leaf(annotate({ type: 'string', ...rules }, { description, examples }));
}

/** An ISO 8601 timestamp, as every `...At` field is sent. */
export function timestamp(description?: string): Schema<string> {
  return string({ format: 'date-time', description });
}

export function uuid(description?: string): Schema<string> {
  return string({ format: 'uuid', description });
}

export interface NumberOptions extends Annotations {
  minimum?: number;
  maximum?: number;
}

export function integer(options: NumberOptions = {}): Schema<number> {
  const { description, examples, ...rules } = options;
  return leaf(annotate({ type: 'integer', ...rules }, { description, examples }));
}

export function number(options: NumberOptions = {}): Schema<number> {
  const { description, examples, ...rules } = options;
  return leaf(annotate({ type: 'number', ...rules }, { description, examples }));
}

export function boolean(description?: string): Schema<boolean> {
  return leaf(annotate({ type: 'boolean' }, { description }));
}

/** One of a closed set of strings (the `as const` arrays the code checks against). */
export function oneOfValues<const V extends string>(values: readonly V[], description?: string): Schema<V> {
  return leaf(annotate({ type: 'string', enum: [...values] }, { description }));
}

export function constant<const V extends string | number | boolean>(value: V): Schema<V> {
  return leaf({ const: value });
}

/** Any JSON object, its fields not described (free-form data the gateway stores as sent). */
export function openObject(description?: string): Schema<Record<string, unknown>> {
  return leaf(annotate({ type: 'object', additionalProperties: true }, { description }));
}

/** Any JSON value. */
export function anyValue(description?: string): Schema<unknown> {
  return leaf(annotate({}, { description }));
}

/**
 * A schema whose type the compiler cannot check (a template literal type, say): the caller vouches that
 * `json` describes T.
 */
export function described<T>(json: JsonSchema): Schema<T> {
  return leaf(json);
}

export function optional<T>(schema: Schema<T>): Schema<T | undefined> {
  return { render: (resolve) => schema.render(resolve), optional: true };
}

export function nullable<T>(schema: Schema<T>): Schema<T | null> {
  return {
    render: (resolve) => {
      const json = schema.render(resolve);
      if (typeof json.type === 'string' && json.enum === undefined && json.$ref === undefined) {
        return { ...json, type: [json.type, 'null'] };
      }
      return { anyOf: [json, { type: 'null' }] };
    },
    optional: false,
  };
}

export function array<T>(items: Schema<T>, options: Annotations & { maxItems?: number } = {}): Schema<T[]> {
  const { description, examples, ...rules } = options;
  return {
    render: (resolve) =>
      annotate({ type: 'array', items: items.render(resolve), ...rules }, { description, examples }),
    optional: false,
  };
}

/** A list page: `{ items, nextCursor }`, nextCursor null on the last page. */
export function page<T>(items: Schema<T>): Schema<{ items: T[]; nextCursor: string | null }> {
  return object<{ items: T[]; nextCursor: string | null }>({
    items: array(items),
    nextCursor: nullable(string({ description: 'Pass as `cursor` for the next page; null on the last' })),
  });
}

/** Every field of T with its schema; an optional field's schema is `optional(...)`. */
export type Fields<T> = { [K in keyof T]-?: Schema<T[K]> };

/** An object with exactly these fields (closed: the gateway sends nothing else). */
export function object<T>(fields: Fields<T>, annotations?: Annotations): Schema<T> {
  return {
    render: (resolve) => {
      const entries = Object.entries<AnySchema>(fields);
      const required = entries.filter(([, schema]) => !schema.optional).map(([name]) => name);
      return annotate(
        {
          type: 'object',
          properties: Object.fromEntries(entries.map(([name, schema]) => [name, schema.render(resolve)])),
          ...(required.length > 0 ? { required } : {}),
          additionalProperties: false,
        },
        annotations,
      );
    },
    optional: false,
  };
}

/** Any one of these (a union type: an ack that is either an answer or a problem). */
export function anyOf<S extends AnySchema[]>(...schemas: S): Schema<SchemaType<S[number]>> {
  return {
    render: (resolve) => ({ anyOf: schemas.map((schema) => schema.render(resolve)) }),
    optional: false,
  };
}

/** All of these at once (an object that extends another). */
export function allOf<A, B>(a: Schema<A>, b: Schema<B>): Schema<A & B> {
  return {
    render: (resolve) => {
      const second = b.render(resolve);
      // The second part adds fields to the first: closing it would refuse the first part's fields.
      delete second.additionalProperties;
      return { allOf: [a.render(resolve), second] };
    },
    optional: false,
  };
}

/**
 * A schema the documents list once under this name (`components.schemas`) and refer to elsewhere: the
 * objects a reader looks up (Device, Command, Plan, Problem).
 */
export function named<T>(name: string, schema: Schema<T>): Schema<T> {
  return { render: (resolve) => resolve(name, () => schema.render(resolve)), optional: schema.optional };
}

/**
 * A schema another feature names (see `named`), referred to without importing it: how a feature lists an
 * object of a later one (a session's plans). The documents fail to build when nothing defines the name.
 */
export function namedElsewhere<T>(name: string): Schema<T> {
  return {
    render: (resolve) => resolve(name),
    optional: false,
  };
}

/**
 * The JSON Schema a class-validator DTO is validated with (jsonSchemaOf), with the DTOs it nests listed
 * by their class names. What validates is what is documented.
 */
export function dto<T>(type: Type<T>): Schema<T> {
  return { render: (resolve) => validatedSchema(jsonSchemaOf(type), resolve), optional: false };
}

const DEFINITION_REF = '#/definitions/';

/**
 * A schema as a validator is given it (a route's body schema, say), DTOs it nests named: jsonSchemaOf
 * carries every DTO's definition under `definitions`, referred to as `#/definitions/<class>`. Never
 * changes `json`, which Fastify and ajv hold.
 */
export function validatedSchema(
  json: JsonSchema,
  resolve: NamedSchemaResolver,
  name = dtoNameOf(json),
): JsonSchema {
  return name === undefined
    ? withDefinitions(json, resolve)
    : resolve(name, () => withDefinitions(json, resolve));
}

/** A validator's schema, inline (its own fields, not a reference to its DTO), nested DTOs named. */
export function inlineValidatedSchema(json: JsonSchema, resolve: NamedSchemaResolver): JsonSchema {
  return withDefinitions(json, resolve);
}

function withDefinitions(json: JsonSchema, resolve: NamedSchemaResolver): JsonSchema {
  const { definitions, ...own } = json as JsonSchema & { definitions?: Record<string, JsonSchema> };
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (typeof value !== 'object' || value === null) return value;
    const ref = (value as JsonSchema).$ref;
    if (typeof ref === 'string' && ref.startsWith(DEFINITION_REF)) {
      const name = ref.slice(DEFINITION_REF.length);
      const definition = definitions?.[name];
      if (!definition) throw new Error(`${ref} is not defined`);
      return resolve(name, () => rewrite(definition) as JsonSchema);
    }
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, rewrite(item)]));
  };
  return rewrite(own) as JsonSchema;
}

/**
 * A schema a validator is given (a command type's params schema), listed under `name`: what validates is
 * what is documented. T is the caller's word.
 */
export function validated<T>(json: JsonSchema, name?: string): Schema<T> {
  return { render: (resolve) => validatedSchema(json, resolve, name), optional: false };
}

/** The caller vouches that `schema` describes T (a union the compiler cannot relate to T, say). */
export function vouch<T>(schema: AnySchema): Schema<T> {
  return schema;
}

/** The schema with every named part inlined: for Fastify's response serializer, which takes no refs. */
export function inlined(schema: AnySchema): JsonSchema {
  const resolve: NamedSchemaResolver = (name, render) => {
    if (!render) throw new Error(`${name} is defined elsewhere: it cannot be inlined`);
    return render();
  };
  return schema.render(resolve);
}

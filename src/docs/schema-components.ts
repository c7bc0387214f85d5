import { type AnySchema, type NamedSchemaResolver } from '../common/docs/typed-schema';
import { type JsonSchema } from '../common/validation/dto-schema';

/** The named schemas of one document, each rendered once under `components.schemas`. */
export class SchemaComponents {
  private readonly schemas = new Map<string, JsonSchema>();

  constructor(private readonly refPrefix = '#/components/schemas/') {}

  private readonly wanted = new Set<string>();

  readonly resolve: NamedSchemaResolver = (name, render) => {
    if (!render) {
      this.wanted.add(name);
    } else if (!this.schemas.has(name)) {
      // Listed before it is rendered, so a schema that refers to itself ends in a $ref, not a loop.
      this.schemas.set(name, {});
      this.schemas.set(name, render());
    }
    return { $ref: `${this.refPrefix}${name}` };
  };

  use(schema: AnySchema): JsonSchema {
    return schema.render(this.resolve);
  }

  /** Every named schema; throws when a name referred to was never defined. */
  all(): Record<string, JsonSchema> {
    const undefinedNames = [...this.wanted].filter((name) => !this.schemas.has(name));
    if (undefinedNames.length > 0) throw new Error(`No schema is named ${undefinedNames.join(', ')}`);
    return Object.fromEntries([...this.schemas].sort(([a], [b]) => a.localeCompare(b)));
  }
}

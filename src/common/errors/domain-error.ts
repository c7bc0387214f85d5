/** One field that failed validation, as reported in a problem's `errors` list. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * Base of every error the gateway raises on purpose. `code` is a member of a feature's code enum; the
 * problem filter maps each code to an HTTP status through a catalog that must name every code.
 */
export abstract class DomainError<Code extends string = string> extends Error {
  abstract readonly code: Code;

  constructor(
    readonly detail: string,
    readonly extras: Readonly<Record<string, unknown>> = {},
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

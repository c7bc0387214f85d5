// Validates the OpenAPI document on stdin with @seriousme/openapi-schema-validator, which ships as an
// ES module only (it finds its schemas through import.meta.url), so jest's CommonJS runtime runs it here,
// in a plain node process. Prints `{ valid, version, errors }`.
import { Validator } from '@seriousme/openapi-schema-validator';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const validator = new Validator();
const result = await validator.validate(JSON.parse(text));
process.stdout.write(
  JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? [] }),
);

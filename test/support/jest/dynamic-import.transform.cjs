/**
 * Jest transform for CommonJS packages that load Node built-ins with `await import("fs")` (PGlite does).
 * Jest's CommonJS runtime cannot run a dynamic import unless node runs with --experimental-vm-modules,
 * which neither `npm test` nor a plain `npx jest` passes; the embedded data backend then dies with
 * ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG. Built-ins load the same through require, so each literal
 * `import("x")` becomes `Promise.resolve(require("x"))`.
 *
 * The module's own `require` is captured first, on the first line so stack traces keep their line numbers:
 * PGlite's Emscripten glue declares a function-scoped `var require`, which would shadow it.
 */
const { createHash } = require('node:crypto');

const VERSION = '1';
const CAPTURE = 'const __requireForDynamicImport = require;';
const LITERAL_DYNAMIC_IMPORT = /(?<![\w$.])import\((["'])([^"'\n]+)\1\)/g;

function rewrite(source) {
  const body = source.replace(
    LITERAL_DYNAMIC_IMPORT,
    (_, quote, specifier) => `Promise.resolve(__requireForDynamicImport(${quote}${specifier}${quote}))`,
  );
  const strict = /^(["'])use strict\1;?/.exec(body);
  return strict ? `${strict[0]}${CAPTURE}${body.slice(strict[0].length)}` : `${CAPTURE}${body}`;
}

module.exports = {
  process(source) {
    return { code: rewrite(source) };
  },
  getCacheKey(source, filename) {
    return createHash('sha256').update(VERSION).update(filename).update(source).digest('hex');
  },
};

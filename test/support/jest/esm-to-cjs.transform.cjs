/**
 * Jest transform for ES-module-only packages (jose 6). Jest's CommonJS runtime cannot load them, so only
 * their module syntax is rewritten to CommonJS; everything else stays as written. ts-jest cannot be used
 * here: it applies the project's `useDefineForClassFields: false`, which moves jose's class fields above
 * `super()` and breaks every error class it throws (ReferenceError instead of errors.JWTExpired).
 */
const { createHash } = require('node:crypto');
const ts = require('typescript');

const VERSION = '1';

module.exports = {
  process(source, filename) {
    const { outputText } = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        useDefineForClassFields: true,
        allowJs: true,
        esModuleInterop: true,
      },
    });
    return { code: outputText };
  },
  getCacheKey(source, filename) {
    return createHash('sha256')
      .update(VERSION)
      .update(ts.version)
      .update(filename)
      .update(source)
      .digest('hex');
  },
};

// @ts-check
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'coverage/',
      'node_modules/',
      'data/',
      'eslint.config.mjs',
      'jest.config.js',
      // Plain CommonJS loaded by jest itself, outside the TypeScript project the typed rules need.
      'test/support/jest/*.cjs',
      // npm's prepare step, which runs before anything is built.
      'scripts/prepare.cjs',
      // dependency-cruiser's configuration, read by depcruise in `npm run lint`.
      '.dependency-cruiser.cjs',
      // Preloaded by the benchmarks into the built gateway, which runs without ts-node.
      'bench/runner/*.cjs',
      // Run by node as an ES module from an e2e test (its validator is an ES module only).
      'test/support/openapi-validator.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  prettier,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // Nest modules and DTOs are classes without members by design.
      '@typescript-eslint/no-extraneous-class': 'off',
      // Nest's and Fastify's option parameters are typed as classes but meant to be passed as literals.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // afterAll must clean up after a beforeAll that failed half-way, when "non-nullable" fixtures are unset.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // Typed helpers that cast query results for the caller.
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
    },
  },
);

/** Unit specs live beside the code; e2e and integration suites under test/ talk to real services. */
const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: {
    // tsconfig.json sets isolatedModules, so ts-jest transpiles file by file; tsc and ESLint type-check.
    '^.+\\.ts$': 'ts-jest',
    // jose 6 ships ES modules only; jest's CommonJS runtime cannot load them untranspiled.
    '/node_modules/jose/.+\\.js$': `${__dirname}/test/support/jest/esm-to-cjs.transform.cjs`,
    // PGlite (the embedded backend) loads Node built-ins with dynamic import(), which jest cannot run as is.
    '/node_modules/@electric-sql/pglite/dist/.+\\.cjs$': `${__dirname}/test/support/jest/dynamic-import.transform.cjs`,
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/|@electric-sql/pglite/)'],
  testEnvironment: 'node',
};

/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 2,
  testTimeout: 30000,
  projects: [
    { ...common, displayName: 'unit', rootDir: 'src', testRegex: '.*\\.spec\\.ts$' },
    {
      ...common,
      displayName: 'e2e',
      rootDir: '.',
      roots: ['<rootDir>/test'],
      testRegex: '.*\\.e2e-spec\\.ts$',
    },
  ],
};

/**
 * Import rules for src/, checked by `npm run lint` (see README, Architecture). Feature folders are the
 * top-level folders of src/ other than the infrastructure ones.
 */
const INFRASTRUCTURE = '^src/(common|config|infra)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      comment: 'Top-level folders of src/ depend on each other in one direction only.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/[^/]+$' },
      to: { path: '^src/[^/]+$', circular: true },
    },
    {
      name: 'infrastructure-knows-no-feature',
      comment: 'common/, config/ and infra/ are used by features and must not import any of them.',
      severity: 'error',
      from: { path: INFRASTRUCTURE },
      to: { path: '^src/', pathNot: INFRASTRUCTURE },
    },
    {
      name: 'no-module-cycles',
      comment: 'No import cycle between two files either.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    // Unit specs use test/support's fakes, which span features; the rules are about src/ itself.
    doNotFollow: { path: ['node_modules', '^test/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

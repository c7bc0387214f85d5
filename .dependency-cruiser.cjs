/**
 * Import rules for src/, checked by `npm run lint` (see README, Architecture).
 *
 * Features are the top-level folders of src/ outside the infrastructure ones, in layers: a feature may
 * import the features before it in this list, never one after it, so there is no cycle between feature
 * folders (subfolders such as devices/agent/ count as their feature). A new feature takes its place here.
 */
const FEATURES = ['audit', 'auth', 'realtime', 'health', 'devices', 'sessions', 'remediation', 'docs'];
const INFRASTRUCTURE = '^src/(common|config|infra)/';

const layerRules = FEATURES.slice(0, -1).map((feature, index) => ({
  name: `${feature}-imports-no-later-feature`,
  comment: `${feature}/ may import ${FEATURES.slice(0, index).join(', ') || 'no feature'} and infrastructure only.`,
  severity: 'error',
  from: { path: `^src/${feature}/` },
  to: { path: `^src/(${FEATURES.slice(index + 1).join('|')})/` },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'infrastructure-knows-no-feature',
      comment: 'common/, config/ and infra/ are used by features and must not import any of them.',
      severity: 'error',
      from: { path: INFRASTRUCTURE },
      to: { path: '^src/', pathNot: INFRASTRUCTURE },
    },
    {
      name: 'every-folder-is-known',
      comment: 'A top-level folder of src/ is infrastructure, cli/, or a feature listed in FEATURES.',
      severity: 'error',
      from: { path: '^src/' },
      to: {
        path: '^src/[^/]+/',
        pathNot: [INFRASTRUCTURE, '^src/cli/', `^src/(${FEATURES.join('|')})/`],
      },
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

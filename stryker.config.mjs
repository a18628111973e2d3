// @ts-check
/**
 * Mutation testing of the pure core: `npm run mutation` (all of it, incremental) or
 * `npm run mutation -- --mutate 'src/gate/**'` (one folder). Not part of CI: on two cores a full
 * run takes long. See docs/testing.md.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: [
    'src/checks/**/*.ts',
    'src/gate/**/*.ts',
    'src/parse/**/*.ts',
    'src/policy/**/*.ts',
    'src/checkpoint/**/*.ts',
    'src/formats/**/*.ts',
    'src/slack/blocks/**/*.ts',
    'src/slack/auth.ts',
  ],
  // the machine is shared; one or two workers keep the rest of it usable
  concurrency: 2,
  timeoutMS: 20_000,
  // the dry run (every core unit test once) takes ~2 min when the machine is quiet; under load it
  // outlasts Stryker's 5 min default
  dryRunTimeoutMinutes: 30,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 85, break: null },
  ignorePatterns: ['dist', 'reports', 'bench/.cache', 'coverage'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};

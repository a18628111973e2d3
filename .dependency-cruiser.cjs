/**
 * Import rules, checked by `npm run check:static` (see CONTRIBUTING.md for the picture).
 * `npx depcruise src workers bench scripts test` lists the violations.
 *
 * Pure layers (readers and checks) never reach infrastructure (Slack, Redis store, queues), the
 * readers never reach the checks that use them, library code never reaches the process entry
 * points under workers/, and no module imports itself back through others.
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes load order matter and the modules one unit; move the shared part down a layer.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-not-workers',
      severity: 'error',
      comment: 'workers/ holds process entry points only; library code lives under src/ (src/worker for the job side).',
      from: { path: '^src/' },
      to: { path: '^workers/' },
    },
    {
      name: 'pure-not-infrastructure',
      severity: 'error',
      comment:
        'Checks, readers and the ONNX/test-set code are pure over artifacts: no Slack, no store, no queue (they run in CI and in worker processes alike).',
      from: { path: '^src/(checks|checkpoint|formats|parse|testset|onnx)/' },
      to: { path: '^src/(slack|store|queue)/' },
    },
    {
      name: 'readers-not-checks',
      severity: 'error',
      comment: 'Readers (checkpoint, formats, parse) know nothing of the checks that use them.',
      from: { path: '^src/(checkpoint|formats|parse)/' },
      to: { path: '^src/checks/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test/corpus|test/fixtures|examples)/' },
    // Type-only imports count: a type from a higher layer couples the lower one to it just the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.check.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};

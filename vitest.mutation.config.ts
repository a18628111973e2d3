import { defineConfig } from 'vitest/config';

/**
 * The unit tests of the pure core, for `npm run mutation` (StrykerJS): no Redis, no Slack
 * receiver, no child processes, so each mutant costs only the tests that cover it.
 */
export default defineConfig({
  test: {
    include: [
      'test/checks/**/*.test.ts',
      'test/gate/**/*.test.ts',
      'test/parse/**/*.test.ts',
      'test/policy/**/*.test.ts',
      'test/checkpoint/**/*.test.ts',
      'test/formats/**/*.test.ts',
      'test/slack/blocks/**/*.test.ts',
      'test/slack/auth.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

import { defineCheck } from './define.js';

export const check = defineCheck({
  id: 'test.evaluated',
  category: 'test',
  title: 'Comprehensive test set evaluation completed',
  heavy: false,
  remediation: 'Run test set evaluation (Step 3 of workflow.md), generate test_results.md.',
  run: async () => ({ status: 'skipped', evidence: ['not implemented yet'] }),
});

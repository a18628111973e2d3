import { defineCheck } from './define.js';

export const check = defineCheck({
  id: 'test.per_class',
  category: 'test',
  title: 'Confusion matrix generated and analyzed',
  heavy: false,
  remediation: 'x',
  run: async () => ({ status: 'skipped', evidence: ['not implemented yet'] }),
});

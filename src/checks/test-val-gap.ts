import { defineCheck } from './define.js';

export const check = defineCheck({
  id: 'test.val_gap',
  category: 'test',
  title: 'Validation and test accuracy gap acceptable (<5%)',
  heavy: false,
  remediation: 'x',
  run: async () => ({ status: 'skipped', evidence: ['not implemented yet'] }),
});

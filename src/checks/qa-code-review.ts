import { defineCheck } from './define.js';

export const check = defineCheck({
  id: 'qa.code_review',
  category: 'qa',
  title: 'Production code reviewed',
  heavy: false,
  remediation: 'x',
  run: async () => ({ status: 'skipped', evidence: ['not implemented yet'] }),
});

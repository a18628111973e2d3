import { defineCheck } from './define.js';

export const check = defineCheck({
  id: 'qa.known_issues',
  category: 'qa',
  title: 'No known critical issues or bugs',
  heavy: false,
  remediation: 'x',
  run: async () => ({ status: 'skipped', evidence: ['not implemented yet'] }),
});

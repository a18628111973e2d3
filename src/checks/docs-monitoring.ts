import { defineCheck } from './define.js';

export const check = defineCheck({
  id: 'docs.monitoring',
  category: 'docs',
  title: 'Monitoring strategy documented',
  heavy: false,
  remediation: 'x',
  run: async () => ({ status: 'skipped', evidence: ['not implemented yet'] }),
});

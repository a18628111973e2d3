import { defineCheck } from './define.js';

export const check = defineCheck({
  id: 'repro.documented',
  category: 'repro',
  title: 'Complete reproducibility documentation',
  heavy: false,
  remediation: 'x',
  run: async () => ({ status: 'skipped', evidence: ['not implemented yet'] }),
});

import { defineCheck } from './define.js';

export const check = defineCheck({
  id: 'repro.env_snapshot',
  category: 'repro',
  title: 'Environment snapshot saved',
  heavy: false,
  remediation: 'x',
  run: async () => ({ status: 'skipped', evidence: ['not implemented yet'] }),
});

import { defineCheck } from './define.js';

export const check = defineCheck({
  id: 'training.completed',
  category: 'training',
  title: 'Final production training executed and completed',
  heavy: false,
  remediation: 'Final training incomplete or failed. Debug issues, restart final training.',
  run: async () => ({ status: 'skipped', evidence: ['not implemented yet'] }),
});

import { defineCheck } from './define.js';

export const check = defineCheck({
  id: 'test.target',
  category: 'test',
  title: 'Test accuracy meets or exceeds target',
  heavy: false,
  remediation: 'x',
  run: async () => ({ status: 'skipped', evidence: ['not implemented yet'] }),
});

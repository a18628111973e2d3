import { defineCheck } from './define.js';

export const check = defineCheck({
  id: 'export.present',
  category: 'export',
  title: 'Model exported to at least one deployment format',
  heavy: false,
  remediation: 'x',
  run: async () => ({ status: 'skipped', evidence: ['not implemented yet'] }),
});

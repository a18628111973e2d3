import { defineCheck } from './define.js';

// Implemented by the checkpoint work; until then it never passes.
export const check = defineCheck({
  id: 'checkpoint.best',
  category: 'training',
  title: 'Best production checkpoint saved',
  heavy: false,
  remediation: 'Production checkpoint not saved. Check checkpointing configuration, verify training completed.',
  run: async () => ({ status: 'skipped', evidence: ['not implemented in this version of readiness-gate; the gate stays pending'] }),
});

import path from 'node:path';
import { formatBytes, formatCount, loadCheckpointForCheck, safetyEvidence } from './checkpoint-support.js';
import { defineCheck, pass } from './define.js';

const REMEDIATION =
  'Last checkpoint missing. Check checkpointing configuration (save the last epoch as well as the best), verify training completed.';

export const check = defineCheck({
  id: 'checkpoint.last',
  category: 'training',
  title: 'Last production checkpoint saved',
  heavy: false,
  remediation: REMEDIATION,
  run: async ({ run, policy }) => {
    const rel = policy.paths.checkpoint_last;
    const loaded = await loadCheckpointForCheck(run, rel, policy, REMEDIATION);
    if ('outcome' in loaded) return loaded.outcome;
    const s = loaded.summary;
    const parts = [
      s.epoch ? `epoch ${s.epoch.value}` : 'no epoch recorded',
      s.stateDict
        ? `${formatCount(s.parameters)} parameters in ${s.tensorCount} tensors`
        : `${s.tensorCount} tensors (no model_state_dict)`,
      formatBytes(s.bytes),
    ];
    return pass([`${path.posix.basename(rel)}: ${parts.join(', ')} (${rel})`, safetyEvidence(s)], {
      epoch: s.epoch?.value ?? null,
      parameters: s.parameters,
      tensors: s.tensorCount,
      bytes: s.bytes,
    });
  },
});

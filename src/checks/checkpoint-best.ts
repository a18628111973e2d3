import path from 'node:path';
import { parseAccuracy } from '../parse/numbers.js';
import { formatBytes, formatCount, loadCheckpointForCheck, safetyEvidence } from './checkpoint-support.js';
import { defineCheck, fail, fmt, pass } from './define.js';

const REMEDIATION = 'Production checkpoint not saved. Check checkpointing configuration, verify training completed.';

export const check = defineCheck({
  id: 'checkpoint.best',
  category: 'training',
  title: 'Best production checkpoint saved',
  heavy: false,
  remediation: REMEDIATION,
  run: async ({ run, policy }) => {
    const rel = policy.paths.checkpoint_best;
    const loaded = await loadCheckpointForCheck(run, rel, policy, REMEDIATION);
    if ('outcome' in loaded) return loaded.outcome;
    const s = loaded.summary;
    const name = path.posix.basename(rel);
    const acc = s.valAcc ? parseAccuracy(s.valAcc.value) : null;
    const metrics = {
      epoch: s.epoch?.value ?? null,
      val_acc: acc ? Number(acc.percent.toFixed(4)) : null,
      parameters: s.parameters,
      tensors: s.tensorCount,
      bytes: s.bytes,
      bytes_read: s.bytesRead,
    };
    const missing: string[] = [];
    if (!s.stateDict) missing.push(s.stateDictProblem ?? 'model_state_dict (a dict of tensors) is missing');
    if (!s.epoch) missing.push('no epoch (looked for epoch, best_epoch, metrics.epoch)');
    if (!s.valAcc)
      missing.push('no val_acc (looked for val_acc, val_accuracy, best_val_acc, metrics.val_acc, metrics.val.acc)');
    else if (!acc)
      missing.push(`val_acc ${s.valAcc.value} is not an accuracy (expected a fraction 0–1 or a percent 0–100)`);
    if (missing.length > 0) {
      return fail(
        [
          `${name} (${rel}, ${formatBytes(s.bytes)}) is a readable torch checkpoint but ${missing.join('; ')}`,
          `top-level keys: ${s.topLevelKeys.join(', ') || '(not a dict)'}`,
          safetyEvidence(s),
        ],
        metrics,
        {
          remediation:
            'Save the best checkpoint as torch.save({"model_state_dict": model.state_dict(), "epoch": epoch, "val_acc": val_acc, ...}, path).',
        },
      );
    }
    const accText =
      acc!.read === 'fraction'
        ? `${fmt(acc!.percent)} % (read as fraction ${s.valAcc!.value})`
        : `${fmt(acc!.percent)} %`;
    return pass(
      [
        `${name}: epoch ${s.epoch!.value}, val_acc ${accText}, ${formatCount(s.parameters)} parameters in ${s.tensorCount} tensors, ${formatBytes(s.bytes)} (${rel})`,
        `keys read: ${s.stateDict!.key}, ${s.epoch!.key}, ${s.valAcc!.key}${s.finalLayer ? `; final layer ${s.finalLayer.name} [${s.finalLayer.shape.join(', ')}]` : ''}`,
        safetyEvidence(s),
      ],
      metrics,
    );
  },
});

import path from 'node:path';
import { checkpointWeightDigests, matchWeights } from '../checkpoint/provenance.js';
import { Checkpoint, checkpointLimits } from '../checkpoint/reader.js';
import { summarizeCheckpoint } from '../checkpoint/summary.js';
import { GateError } from '../errors.js';
import { onnxLimits, onnxWeightDigests } from '../onnx/inspect.js';
import { formatCount } from './checkpoint-support.js';
import { defineCheck, fail, pass, warn } from './define.js';

const REMEDIATION =
  'Re-export the model from checkpoints/production/final_model_best.pt; the export does not hold the best checkpoint weights.';

const list = (names: readonly string[], n = 5) =>
  names.slice(0, n).join(', ') + (names.length > n ? `, … (${names.length - n} more)` : '');

export const check = defineCheck({
  id: 'export.provenance',
  category: 'export',
  title: 'Exported weights are the best checkpoint',
  heavy: false,
  remediation: REMEDIATION,
  run: async ({ run, policy, signal }) => {
    const onnxRel = policy.paths.onnx_model;
    const ckptRel = policy.paths.checkpoint_best;
    if (!(await run.exists(onnxRel))) {
      if (await run.exists(policy.paths.torchscript_model)) {
        return {
          status: 'skipped',
          evidence: [
            `no ONNX model at ${onnxRel}; provenance of the TorchScript export (${policy.paths.torchscript_model}) is not verified`,
          ],
        };
      }
      return fail([`no export at ${onnxRel} to compare with ${ckptRel} (see export.present)`]);
    }
    if (!(await run.exists(ckptRel)))
      return fail([`${ckptRel} not found: nothing to compare the export with (see checkpoint.best)`]);
    let ckpt: Checkpoint;
    try {
      ckpt = await Checkpoint.open(run, ckptRel, checkpointLimits(policy));
    } catch (err) {
      if (err instanceof GateError && !err.hostile && err.code !== 'PATH_ESCAPE') {
        return fail([`${ckptRel} cannot be read (${err.message}); provenance not verifiable`]);
      }
      throw err;
    }
    try {
      const summary = await summarizeCheckpoint(ckpt);
      if (!summary.stateDict) return fail([`${ckptRel} has no model_state_dict of tensors; provenance not verifiable`]);
      const onnxWeights = await onnxWeightDigests(run, onnxRel, onnxLimits(policy), signal ? { signal } : {});
      const ckptWeights = await checkpointWeightDigests(ckpt, summary.stateDict.tensors);
      const m = matchWeights(onnxWeights, ckptWeights);
      const matched = m.byName.length + m.byContent.length + m.folded.length;
      const metrics = {
        onnx_weights: m.total,
        matched,
        matched_by_name: m.byName.length,
        matched_by_content: m.byContent.length,
        matched_folded: m.folded.length,
        conflicts: m.conflicts.length,
        unmatched: m.unmatched.length,
      };
      const ckptName = path.posix.basename(ckptRel);
      const summaryLine =
        `${matched} of ${m.total} ONNX weight tensors are ${ckptName}'s: ${m.byName.length} identical (sha256) under the same name, ` +
        `${m.byContent.length} identical under another name, ${m.folded.length} with a BatchNorm folded in (numerically, rtol 1e-3)` +
        ` — ${formatCount(ckptWeights.reduce((a, w) => a + w.numel, 0))} checkpoint values hashed (${onnxRel} vs ${ckptRel})`;
      const details: string[] = [];
      if (m.byContent.length)
        details.push(`renamed in the export: ${list(m.byContent.map(([o, c]) => `${o} = ${c}`))}`);
      if (m.folded.length)
        details.push(`BatchNorm folded by the exporter: ${list(m.folded.map(([o, c]) => `${o} = ${c}`))}`);
      if (m.unmatched.length) details.push(`ONNX weights found nowhere in the checkpoint: ${list(m.unmatched)}`);
      if (m.checkpointOnly.length)
        details.push(`checkpoint tensors not found in the export: ${list(m.checkpointOnly)}`);
      if (m.conflicts.length > 0) {
        return fail(
          [
            `stale export: ${m.conflicts.length} ONNX weights have the same name as a checkpoint tensor but different contents: ${list(m.conflicts)}`,
            summaryLine,
            ...details,
          ],
          metrics,
        );
      }
      if (m.total === 0)
        return fail([`${onnxRel} holds no floating-point weight initializers to compare`, summaryLine], metrics);
      if (matched * 2 < m.total) {
        return fail(
          [
            `only ${matched} of ${m.total} ONNX weights are the checkpoint's: the export comes from other weights`,
            summaryLine,
            ...details,
          ],
          metrics,
        );
      }
      if (m.unmatched.length > 0) return warn([summaryLine, ...details], metrics);
      return pass([summaryLine, ...details], metrics);
    } finally {
      await ckpt.close();
    }
  },
});

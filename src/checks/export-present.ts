import { artifactSize } from '../artifacts/manifest.js';
import type { RunArtifacts } from '../artifacts/run.js';
import { GateError } from '../errors.js';
import { sniffOnnx } from '../formats/sniff.js';
import { DEFAULT_ZIP_LIMITS, ZipReader } from '../formats/zip.js';
import { defineCheck, fail, fmt, pass } from './define.js';

function human(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${fmt(bytes / 1024 / 1024, 1)} MB`;
  if (bytes >= 1024) return `${fmt(bytes / 1024, 1)} KB`;
  return `${bytes} B`;
}

async function inspectOnnx(run: RunArtifacts, rel: string): Promise<string | null> {
  const f = await run.openFile(rel);
  try {
    const s = await sniffOnnx(f.handle, f.size);
    return s.ok ? null : (s.reason ?? 'not an ONNX model');
  } finally {
    await f.handle.close();
  }
}

async function inspectTorchScript(run: RunArtifacts, rel: string): Promise<string | null> {
  const f = await run.openFile(rel);
  try {
    // The same hardened zip reader as checkpoints: hostile archives (zip-slip names, bombs) throw.
    const zip = await ZipReader.open(f.handle, f.size, rel, DEFAULT_ZIP_LIMITS).catch((err: unknown) => {
      if (err instanceof GateError && !err.hostile) return err.message;
      throw err;
    });
    if (typeof zip === 'string') return zip;
    const names = zip.entries.map((e) => e.name);
    if (!names.some((n) => /(^|\/)code\//.test(n) || /(^|\/)constants\.pkl$/.test(n))) {
      return 'a torch zip without code/ or constants.pkl: a torch.save of weights, not a TorchScript (torch.jit.save) export';
    }
    return null;
  } finally {
    await f.handle.close();
  }
}

export const check = defineCheck({
  id: 'export.present',
  category: 'export',
  title: 'Model exported to at least one deployment format',
  heavy: false,
  remediation:
    'Export the best checkpoint to models/production_model.onnx with torch.onnx.export (or to models/production_model.pt with torch.jit.save); examples/train/train_digits.py in the readiness-gate repository shows the export.',
  async run({ run, policy }) {
    const candidates = [
      { rel: policy.paths.onnx_model, format: 'ONNX', inspect: inspectOnnx },
      { rel: policy.paths.torchscript_model, format: 'TorchScript', inspect: inspectTorchScript },
    ];
    const ckptSize = await run.size(policy.paths.checkpoint_best);
    const problems: string[] = [];
    const found: string[] = [];
    const metrics: Record<string, number | string | null> = { format: null, bytes: null, checkpoint_ratio: null };
    for (const c of candidates) {
      // an ONNX model's size is the model file plus its external data (the manifest resolver's view)
      const sized = c.format === 'ONNX' ? await artifactSize(run, policy, 'onnx_model') : null;
      const size = sized ? sized.bytes : await run.size(c.rel);
      if (size === null) continue;
      if (size < policy.export.min_bytes) {
        problems.push(`${c.rel} is ${size} bytes (minimum ${policy.export.min_bytes}): empty or truncated`);
        continue;
      }
      const why = await c.inspect(run, c.rel);
      if (why) {
        problems.push(`${c.rel} is not a valid ${c.format} file: ${why}`);
        continue;
      }
      if (ckptSize !== null && ckptSize > 0) {
        const ratio = size / ckptSize;
        const { min_checkpoint_ratio: lo, max_checkpoint_ratio: hi } = policy.export;
        if (ratio < lo || ratio > hi) {
          problems.push(
            `${c.rel} is ${human(size)}, ${fmt(ratio, 3)}× the best checkpoint (${human(ckptSize)}); plausible is ${lo}–${hi}×: the export does not look like this model`,
          );
          continue;
        }
        metrics.checkpoint_ratio = Number(ratio.toFixed(4));
      }
      // the files counted, when the model is more than one (ONNX external data)
      const counted = sized && sized.files.length > 1 ? sized.files.join(' + ') : c.rel;
      found.push(
        `${c.format}: ${counted} (${human(size)}${ckptSize ? `, ${fmt(size / ckptSize, 2)}× the best checkpoint` : ''})`,
      );
      if (metrics.format === null) {
        metrics.format = c.format.toLowerCase();
        metrics.bytes = size;
      }
    }
    if (found.length > 0) return pass([...found, ...problems.map((p) => `also: ${p}`)], metrics);
    if (problems.length === 0)
      problems.push(`neither ${policy.paths.onnx_model} nor ${policy.paths.torchscript_model} exists`);
    return fail(problems, metrics);
  },
});

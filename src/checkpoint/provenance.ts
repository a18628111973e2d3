import { float32Copy as f32, sha256Hex as sha256 } from '../onnx/decode.js';
import type { Checkpoint } from './reader.js';
import type { TensorMeta } from './values.js';

/** A weight's identity for provenance: dtype and a sha256 of its row-major little-endian bytes. */
export interface WeightDigest {
  name: string;
  dtype: string;
  shape: number[];
  numel: number;
  digest: string;
  /** float32 values, kept for the BatchNorm-folding comparison. */
  values?: Float32Array;
}

/** Keep values for the folding comparison only up to this many elements in total. */
const MAX_FOLD_VALUES = 32 * 1024 * 1024;

const FLOAT_TYPES = new Set(['float32', 'float16', 'bfloat16', 'float64']);

/** Digests of the checkpoint's floating-point state-dict tensors (data streamed from the zip). */
export async function checkpointWeightDigests(
  ckpt: Checkpoint,
  tensors: readonly [string, TensorMeta][],
): Promise<WeightDigest[]> {
  const out: WeightDigest[] = [];
  let kept = 0;
  for (const [name, t] of tensors) {
    if (!FLOAT_TYPES.has(t.dtype)) continue;
    const bytes = await ckpt.readTensorBytes(t);
    const keep = t.dtype === 'float32' && kept + t.numel <= MAX_FOLD_VALUES;
    if (keep) kept += t.numel;
    out.push({
      name,
      dtype: t.dtype,
      shape: [...t.shape],
      numel: t.numel,
      digest: sha256(bytes),
      ...(keep ? { values: f32(bytes) } : {}),
    });
  }
  return out;
}

export interface ProvenanceMatch {
  /** ONNX weights compared (floating point, at least 2 elements). */
  total: number;
  byName: string[];
  /** ONNX name → checkpoint name, matched by content under another name. */
  byContent: [string, string][];
  /** Same name in both, different content: the export is not of this checkpoint. */
  conflicts: string[];
  /** ONNX name → "conv.weight ⊗ bn" : a checkpoint weight/bias with a BatchNorm folded in (within rtol). */
  folded: [string, string][];
  /** ONNX weights found nowhere in the checkpoint (constants, or another model). */
  unmatched: string[];
  /** Checkpoint parameters with no ONNX counterpart. */
  checkpointOnly: string[];
}

/** Matches ONNX weights to checkpoint tensors by name and content digest. */
export function matchWeights(onnx: readonly WeightDigest[], ckpt: readonly WeightDigest[]): ProvenanceMatch {
  const byName = new Map(ckpt.map((w) => [w.name, w]));
  const byDigest = new Map<string, WeightDigest>();
  for (const w of ckpt) byDigest.set(`${w.dtype}:${w.digest}`, w);
  const used = new Set<string>();
  const m: ProvenanceMatch = {
    total: 0,
    byName: [],
    byContent: [],
    folded: [],
    conflicts: [],
    unmatched: [],
    checkpointOnly: [],
  };
  for (const w of onnx) {
    if (w.numel < 2) continue;
    m.total++;
    const same = byName.get(w.name);
    if (same && same.dtype === w.dtype && same.digest === w.digest) {
      m.byName.push(w.name);
      used.add(same.name);
      continue;
    }
    if (same) {
      m.conflicts.push(w.name);
      continue;
    }
    const content = byDigest.get(`${w.dtype}:${w.digest}`);
    if (content) {
      m.byContent.push([w.name, content.name]);
      used.add(content.name);
    } else {
      const fold = foldedFrom(w, ckpt);
      if (fold) {
        m.folded.push([w.name, fold.label]);
        for (const n of fold.uses) used.add(n);
      } else m.unmatched.push(w.name);
    }
  }
  m.checkpointOnly = ckpt.filter((w) => w.numel >= 2 && !used.has(w.name)).map((w) => w.name);
  return m;
}

const BN_EPS = 1e-5;

function close(a: Float32Array, b: Float32Array, rtol = 1e-3, atol = 1e-5): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > atol + rtol * Math.abs(b[i]!)) return false;
  return true;
}

/**
 * torch.onnx.export folds an eval-mode BatchNorm into the preceding conv/linear layer:
 * W' = W · γ/√(var+ε) per output channel, b' = (b − mean) · γ/√(var+ε) + β. Tries every
 * (weight or bias, BatchNorm) pair of matching size from the checkpoint and compares numerically.
 */
function foldedFrom(w: WeightDigest, ckpt: readonly WeightDigest[]): { label: string; uses: string[] } | null {
  const target = w.values;
  if (!target) return null;
  const byName = new Map(ckpt.map((c) => [c.name, c]));
  const bns = ckpt
    .filter((c) => c.name.endsWith('running_var'))
    .map((v) => {
      const p = v.name.slice(0, -'running_var'.length);
      return {
        prefix: p,
        var: v,
        mean: byName.get(`${p}running_mean`),
        gamma: byName.get(`${p}weight`),
        beta: byName.get(`${p}bias`),
      };
    })
    .filter((b) => b.var.values && b.mean?.values && b.gamma?.values && b.beta?.values);
  for (const bn of bns) {
    const c = bn.var.numel;
    if (w.shape[0] !== c) continue;
    const scale = new Float32Array(c);
    for (let i = 0; i < c; i++) scale[i] = bn.gamma!.values![i]! / Math.sqrt(bn.var.values![i]! + BN_EPS);
    const bnName = bn.prefix.replace(/\.$/, '');
    if (w.shape.length >= 2) {
      for (const cw of ckpt) {
        if (
          !cw.values ||
          cw.numel !== w.numel ||
          cw.shape.length !== w.shape.length ||
          cw.shape.some((d, i) => d !== w.shape[i]) ||
          cw.name.startsWith(bn.prefix)
        )
          continue;
        const per = cw.numel / c;
        const out = new Float32Array(cw.numel);
        for (let i = 0; i < cw.numel; i++) out[i] = cw.values[i]! * scale[Math.floor(i / per)]!;
        if (close(out, target))
          return {
            label: `${cw.name} with ${bnName} folded in`,
            uses: [cw.name, bn.var.name, bn.mean!.name, bn.gamma!.name, bn.beta!.name],
          };
      }
    } else if (w.shape.length === 1) {
      const biases = ckpt.filter(
        (b) => b.values && b.numel === c && b.name.endsWith('bias') && !b.name.startsWith(bn.prefix),
      );
      for (const b of [...biases, null]) {
        const out = new Float32Array(c);
        for (let i = 0; i < c; i++)
          out[i] = ((b ? b.values![i]! : 0) - bn.mean!.values![i]!) * scale[i]! + bn.beta!.values![i]!;
        if (close(out, target)) {
          return {
            label: `${b ? b.name : 'zero bias'} with ${bnName} folded in`,
            uses: [...(b ? [b.name] : []), bn.var.name, bn.mean!.name, bn.gamma!.name, bn.beta!.name],
          };
        }
      }
    }
  }
  return null;
}

/**
 * The parity loop: stream the test set in batches through the worker, pipelined (the next batch is
 * read and queued while the current one runs), and compare ONNX outputs with labels and, when
 * present, PyTorch reference logits. Only running sums are kept: memory is a few batches.
 */
import { GateError } from '../errors.js';
import { castForModel, formatShape, labelsToInts, type NdArray, toFloat32 } from '../testset/index.js';
import type { OpenModel } from './prepare.js';
import type { OutputTensor } from './protocol.js';

export interface ParityOptions {
  batchSize: number;
  atol: number;
  rtol: number;
  onProgress?: (done: number, total: number) => void;
  /** Batches queued in the worker ahead of the one being compared. */
  pipelineDepth?: number;
}

export interface InputStats {
  /** Samples looked at: the first ones only (enough to recognise raw, unnormalised inputs). */
  sampled: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  integerValued: boolean;
}

export interface ParityStats {
  samples: number;
  classes: number;
  correct: number;
  nonFinite: number;
  inputStats: InputStats;
  reference: null | {
    rel: string;
    referenceCorrect: number;
    flipped: number;
    /** Sample indices of the first flipped predictions. */
    flippedExamples: number[];
    maxAbsDiff: number;
    maxRelDiff: number;
    outsideTolerance: number;
    elements: number;
  };
}

/** Input statistics look at the first million values: enough to spot raw pixels, cheap for big inputs. */
const STATS_ELEMENTS = 1 << 20;

function argmaxRows(data: Float32Array, rows: number, classes: number, out: Int32Array): void {
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestV = -Infinity;
    const o = r * classes;
    for (let c = 0; c < classes; c++) {
      const v = data[o + c] as number;
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    out[r] = best;
  }
}

export async function runParity(
  model: OpenModel,
  inputs: NdArray,
  labels: NdArray,
  refs: NdArray | null,
  opts: ParityOptions,
): Promise<ParityStats> {
  const n = inputs.rows;
  const batch = Math.max(1, opts.batchSize);
  const depth = opts.pipelineDepth ?? 2;
  const stats: ParityStats = {
    samples: n,
    classes: 0,
    correct: 0,
    nonFinite: 0,
    inputStats: { sampled: 0, mean: 0, std: 0, min: Infinity, max: -Infinity, integerValued: true },
    reference: refs
      ? {
          rel: refs.rel,
          referenceCorrect: 0,
          flipped: 0,
          flippedExamples: [],
          maxAbsDiff: 0,
          maxRelDiff: 0,
          outsideTolerance: 0,
          elements: 0,
        }
      : null,
  };
  let sum = 0;
  let sumSq = 0;
  let statElems = 0;
  const queue: { start: number; count: number; out: Promise<OutputTensor> }[] = [];
  // input buffers come back from the worker and are reused: memory stays at depth+1 batches, no garbage
  const free: ArrayBuffer[] = [];
  let done = 0;

  const compare = async (start: number, count: number, out: OutputTensor): Promise<void> => {
    if (out.dims.length !== 2 || out.dims[0] !== count) {
      throw new GateError(
        'SHAPE_MISMATCH',
        `model output for a batch of ${count} has shape ${formatShape(out.dims)}; a classifier output [${count}, classes] is expected`,
      );
    }
    const classes = out.dims[1] as number;
    stats.classes = classes;
    const pred = new Int32Array(count);
    argmaxRows(out.data, count, classes, pred);
    for (const v of out.data) if (!Number.isFinite(v)) stats.nonFinite++;
    const y = labelsToInts(await labels.readRows(start, count), labels.dtype);
    for (let i = 0; i < count; i++) if (pred[i] === y[i]) stats.correct++;
    const ref = stats.reference;
    if (refs && ref) {
      const r = toFloat32(await refs.readRows(start, count), refs.dtype);
      const refPred = new Int32Array(count);
      argmaxRows(r, count, classes, refPred);
      for (let i = 0; i < count; i++) {
        if (refPred[i] === y[i]) ref.referenceCorrect++;
        if (refPred[i] !== pred[i]) {
          ref.flipped++;
          if (ref.flippedExamples.length < 5) ref.flippedExamples.push(start + i);
        }
      }
      const a = out.data;
      for (let k = 0; k < r.length; k++) {
        const b = r[k] as number;
        const diff = Math.abs((a[k] as number) - b);
        if (!(diff <= opts.atol + opts.rtol * Math.abs(b))) ref.outsideTolerance++;
        if (diff > ref.maxAbsDiff || Number.isNaN(diff))
          ref.maxAbsDiff = Number.isNaN(diff) ? Number.NaN : Math.max(ref.maxAbsDiff, diff);
        const rel = diff / Math.max(Math.abs(b), 1e-6);
        if (rel > ref.maxRelDiff) ref.maxRelDiff = rel;
      }
      ref.elements += r.length;
    }
    if (out.input) free.push(out.input);
    done += count;
    opts.onProgress?.(done, n);
  };

  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const raw = await inputs.readRows(start, count, free.pop());
    if (statElems < STATS_ELEMENTS) {
      const f = toFloat32(raw, inputs.dtype);
      const upto = Math.min(f.length, Math.max(inputs.rowElements, STATS_ELEMENTS - statElems));
      for (let i = 0; i < upto; i++) {
        const v = f[i] as number;
        sum += v;
        sumSq += v * v;
        if (v < stats.inputStats.min) stats.inputStats.min = v;
        if (v > stats.inputStats.max) stats.inputStats.max = v;
        if (stats.inputStats.integerValued && !Number.isInteger(v)) stats.inputStats.integerValued = false;
      }
      statElems += upto;
      stats.inputStats.sampled += Math.ceil(upto / inputs.rowElements);
    }
    const data = castForModel(raw, inputs.dtype, model.input.npDtype);
    const dims = [count, ...inputs.shape.slice(1)];
    const out = model.worker.run(
      { inputName: model.input.name, dtype: model.input.npDtype, dims, data },
      model.output.name,
    );
    out.catch(() => undefined); // a failure surfaces when this batch is awaited, not as an unhandled rejection
    queue.push({ start, count, out });
    if (queue.length > depth) {
      const q = queue.shift() as (typeof queue)[number];
      await compare(q.start, q.count, await q.out);
    }
  }
  for (const q of queue) await compare(q.start, q.count, await q.out);
  if (statElems > 0) {
    stats.inputStats.mean = sum / statElems;
    stats.inputStats.std = Math.sqrt(Math.max(0, sumSq / statElems - stats.inputStats.mean ** 2));
  }
  return stats;
}

/** Raw pixel values rather than normalised ones: integer-valued with a range well beyond unit scale. */
export function looksUnnormalised(s: InputStats): boolean {
  return (s.integerValued && s.max > 1) || s.max - s.min > 50 || Math.abs(s.mean) > 5;
}

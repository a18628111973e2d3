import type { RunArtifacts } from '../artifacts/run.js';
import { GateError } from '../errors.js';
import { looksUnnormalised, type ParityStats, runParity } from '../onnx/parity.js';
import { locateExport, matchInput, openModel, outputClasses, TORCHSCRIPT_REMEDIATION } from '../onnx/prepare.js';
import { readTestAccuracy } from '../parse/run-docs.js';
import type { Policy } from '../policy/schema.js';
import {
  formatShape,
  locateTestArray,
  type NdArray,
  type OpenArrayOptions,
  openTestArray,
  testsetLimits,
  validateLabels,
} from '../testset/index.js';
import { defineCheck, fail, fmt, pass } from './define.js';
import type { CheckContext, CheckOutcome, Metrics } from './types.js';

const REMEDIATION = 'Re-export model, verify export parameters correct, test accuracy.';

export const check = defineCheck({
  id: 'export.parity',
  category: 'export',
  title: 'Exported model accuracy matches test set accuracy',
  heavy: true,
  remediation: REMEDIATION,
  run: runExportParity,
});

export interface ReportedAccuracy {
  /** Percent. */
  value: number;
  /** Where and how it was read, for evidence. */
  source: string;
}

// ---- PyTorch test accuracy as the run reports it: the shared reader (test_results.md, then
// metrics.json), so every check uses the same number.

export async function readReportedAccuracy(run: RunArtifacts, policy: Policy): Promise<ReportedAccuracy | null> {
  const shared = await readTestAccuracy(run, policy);
  if (!shared) return null;
  return {
    value: shared.percent,
    source: `${shared.file} ${shared.where} ("${shared.raw.slice(0, 80)}", read as a ${shared.read})`,
  };
}

// ---- the check

async function openOptional(
  run: RunArtifacts,
  rel: string | null,
  role: 'labels' | 'reference_outputs',
  opts: OpenArrayOptions,
): Promise<NdArray | null> {
  return rel === null ? null : openTestArray(run, rel, role, opts);
}

async function runExportParity(ctx: CheckContext): Promise<CheckOutcome> {
  const { run, policy } = ctx;
  const where = await locateExport(run, policy);
  if (where.kind === 'torchscript') {
    return fail(
      [`only a TorchScript export was found (${where.rel}); ONNX parity needs ${policy.paths.onnx_model}`],
      {},
      { remediation: TORCHSCRIPT_REMEDIATION },
    );
  }
  if (where.kind === 'none') {
    return fail(
      [`no exported model: neither ${policy.paths.onnx_model} nor ${policy.paths.torchscript_model} exists`],
      {},
      { remediation: TORCHSCRIPT_REMEDIATION },
    );
  }
  const inputsRel = await locateTestArray(run, policy.paths.test_inputs, 'inputs');
  if (!inputsRel)
    return fail([
      `no test inputs: ${policy.paths.test_inputs} (or .npz) is missing; parity needs the preprocessed test set`,
    ]);
  const labelsRel = await locateTestArray(run, policy.paths.test_labels, 'labels', inputsRel);
  if (!labelsRel) return fail([`no test labels: ${policy.paths.test_labels} is missing`]);
  const refsRel = await locateTestArray(run, policy.paths.reference_outputs, 'reference_outputs', inputsRel);

  let model: Awaited<ReturnType<typeof openModel>>;
  try {
    model = await openModel(run, where.rel, policy, ctx.signal);
  } catch (err) {
    // A model that does not decode is a broken export (fail), not a check that could not run.
    if (err instanceof GateError && err.code === 'PARSE_ERROR')
      return fail(
        [err.message],
        {},
        { remediation: `${REMEDIATION} The file is not a loadable ONNX model: re-export it.` },
      );
    throw err;
  }
  const arrays: NdArray[] = [];
  try {
    const limits = testsetLimits(policy);
    const inputs = await openTestArray(run, inputsRel, 'inputs', limits);
    arrays.push(inputs);
    const labels = (await openOptional(run, labelsRel, 'labels', limits)) as NdArray;
    arrays.push(labels);
    validateLabels(labels, inputs.rows, inputs.shape);
    const refs = await openOptional(run, refsRel, 'reference_outputs', limits);
    if (refs) arrays.push(refs);
    const batch = matchInput(model.input, inputs, policy.parity.batch_size);
    const classes = outputClasses(model.output);
    if (refs) {
      const ok =
        refs.shape.length === 2 && refs.rows === inputs.rows && (classes === null || refs.shape[1] === classes);
      if (!ok) {
        throw new GateError(
          'SHAPE_MISMATCH',
          `reference outputs ${refs.rel} have shape ${formatShape(refs.shape)} but ${inputs.rows} samples × ${classes ?? 'C'} classes were expected (model output "${model.output.name}" ${formatShape(model.output.shape)}, inputs ${formatShape(inputs.shape)})`,
          { file: refs.rel },
        );
      }
    }
    const evidence = [...model.evidence];
    if (inputs.transposed) evidence.push(`${inputs.rel} is stored in Fortran order; transposed to C order in memory`);
    evidence.push(
      `test set: ${inputs.rel} ${formatShape(inputs.shape)} ${inputs.dtype}, labels ${labels.rel} ${formatShape(labels.shape)}${refs ? `, reference logits ${refs.rel} ${formatShape(refs.shape)}` : ', no reference outputs'}; batch size ${batch}`,
    );
    const stats = await runParity(model, inputs, labels, refs, {
      batchSize: batch,
      atol: policy.parity.atol,
      rtol: policy.parity.rtol,
      onProgress: (done, total) => ctx.onProgress?.({ done, total, label: 'parity' }),
    });
    const reported = await readReportedAccuracy(run, policy);
    return judge(stats, reported, policy, evidence);
  } finally {
    await Promise.all(arrays.map((a) => a.close().catch(() => undefined)));
    await model.worker.close();
  }
}

function judge(
  stats: ParityStats,
  reported: ReportedAccuracy | null,
  policy: Policy,
  evidence: string[],
): CheckOutcome {
  const p = policy.parity;
  const onnxAcc = (stats.correct / stats.samples) * 100;
  const ref = stats.reference;
  let pytorch: ReportedAccuracy | null = reported;
  if (!pytorch && ref)
    pytorch = {
      value: (ref.referenceCorrect / stats.samples) * 100,
      source: `argmax of the reference logits ${ref.rel} (no accuracy reported in ${policy.paths.test_results} or ${policy.paths.metrics})`,
    };
  const metrics: Metrics = {
    onnx_accuracy: round(onnxAcc, 4),
    pytorch_accuracy: pytorch ? round(pytorch.value, 4) : null,
    accuracy_delta: null,
    samples: stats.samples,
  };
  const problems: string[] = [];
  const causes: string[] = [];
  evidence.push(`ONNX accuracy: ${fmt(onnxAcc, 2)}% (${stats.correct}/${stats.samples} correct on the test set)`);
  if (pytorch) {
    const delta = onnxAcc - pytorch.value;
    metrics.accuracy_delta = round(delta, 4);
    evidence.push(
      `PyTorch accuracy: ${fmt(pytorch.value, 2)}% from ${pytorch.source}; Δ = ${delta >= 0 ? '+' : ''}${fmt(delta, 2)} pp (allowed ±${p.max_delta_pp} pp)`,
    );
    if (Math.abs(delta) > p.max_delta_pp)
      problems.push(`ONNX accuracy differs from PyTorch's by ${fmt(Math.abs(delta), 2)} pp (> ${p.max_delta_pp} pp)`);
  } else {
    problems.push(
      `no PyTorch test accuracy to compare with: none in ${policy.paths.test_results} or ${policy.paths.metrics}, and no reference outputs`,
    );
  }
  if (stats.nonFinite > 0) {
    problems.push(`${stats.nonFinite} ONNX output values are NaN or infinite`);
    causes.push(
      'the exported graph produces NaN/Inf: look for ops that diverge after export (log/sqrt/div of non-positive values, float16 overflow), re-export in float32 with opset ≥ 13',
    );
  }
  const s = stats.inputStats;
  evidence.push(
    `inputs (first ${s.sampled} samples): mean ${fmt(s.mean, 3)}, std ${fmt(s.std, 3)}, range [${fmt(s.min, 3)}, ${fmt(s.max, 3)}]${s.integerValued ? ', all integer-valued' : ''}`,
  );
  const raw = looksUnnormalised(s);
  if (ref) {
    metrics.max_abs_diff = sig(ref.maxAbsDiff);
    metrics.max_rel_diff = sig(ref.maxRelDiff);
    metrics.flipped = ref.flipped;
    metrics.outside_tolerance = sig(ref.outsideTolerance / Math.max(1, ref.elements));
    evidence.push(
      `vs reference logits ${ref.rel}: max abs diff ${sig(ref.maxAbsDiff)}, max rel diff ${sig(ref.maxRelDiff)}, ${ref.outsideTolerance}/${ref.elements} outputs outside atol ${p.atol} / rtol ${p.rtol}, ${ref.flipped} flipped predictions (argmax differs)${ref.flippedExamples.length ? `, e.g. samples ${ref.flippedExamples.join(', ')}` : ''}`,
    );
    evidence.push(`reference logits accuracy: ${fmt((ref.referenceCorrect / stats.samples) * 100, 2)}%`);
    if (ref.flipped > p.max_flipped)
      problems.push(`${ref.flipped} predictions flipped vs the PyTorch reference logits (allowed ${p.max_flipped})`);
    if (ref.outsideTolerance > 0)
      problems.push(`${ref.outsideTolerance} of ${ref.elements} outputs outside atol ${p.atol} / rtol ${p.rtol}`);
    if (problems.length > 0 && stats.nonFinite === 0) {
      if (raw) causes.push(preprocessingCause(s));
      else if (ref.flipped > 0 || ref.maxAbsDiff > 0.1) {
        causes.push(
          `the ONNX weights differ from the model that produced the reference logits (max abs diff ${sig(ref.maxAbsDiff)}, ${ref.flipped} flips): a stale export — re-export from ${policy.paths.checkpoint_best} and regenerate the reference outputs from the same checkpoint`,
        );
      } else {
        causes.push(
          `small numerical drift (max abs diff ${sig(ref.maxAbsDiff)}) without changed predictions: check the opset (≥ 13), float32 export (not float16), do_constant_folding, and the tolerances`,
        );
      }
    }
  } else if (problems.length > 0 && stats.nonFinite === 0) {
    if (raw) causes.push(preprocessingCause(s));
    causes.push(
      `without ${policy.paths.reference_outputs} the cause cannot be narrowed: check preprocessing, re-export from ${policy.paths.checkpoint_best} with opset ≥ 13, and save reference logits to compare per sample`,
    );
  }
  if (problems.length === 0) {
    evidence.push(
      'parity holds: the ONNX export reproduces the reported PyTorch accuracy' +
        (ref ? ' and the reference logits within tolerance' : ''),
    );
    return pass(evidence, metrics);
  }
  evidence.unshift(`parity fails: ${problems.join('; ')}`);
  for (const c of causes) evidence.push(`likely cause: ${c}`);
  return fail(evidence, metrics, { remediation: [REMEDIATION, ...causes.map((c) => `Likely cause: ${c}.`)].join(' ') });
}

function preprocessingCause(s: ParityStats['inputStats']): string {
  return `preprocessing mismatch — the test inputs look unnormalised (${s.integerValued ? 'integer-valued, ' : ''}range [${fmt(s.min, 3)}, ${fmt(s.max, 3)}], mean ${fmt(s.mean, 3)}): save inputs after the same normalisation as training`;
}

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

function sig(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(4)) : v;
}

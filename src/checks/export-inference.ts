import { GateError } from '../errors.js';
import { type LatencySummary, machineFingerprint, summarizeLatency } from '../onnx/latency.js';
import {
  locateExport,
  matchInput,
  type OpenModel,
  openModel,
  outputClasses,
  TORCHSCRIPT_REMEDIATION,
} from '../onnx/prepare.js';
import type { Feed } from '../onnx/protocol.js';
import {
  castForModel,
  formatShape,
  locateTestArray,
  type NdData,
  openTestArray,
  testsetLimits,
} from '../testset/index.js';
import { defineCheck, fail, fmt, pass } from './define.js';
import type { CheckContext, CheckOutcome, Metrics } from './types.js';

const REMEDIATION =
  'Run the exported ONNX model on single test samples (data/test/inputs.npy) in onnxruntime, check it returns class scores [1, classes], and document the call in docs/deployment_guide.md ("Inference API").';

export const check = defineCheck({
  id: 'export.inference',
  category: 'export',
  title: 'Inference API tested with sample inputs',
  heavy: true,
  remediation: REMEDIATION,
  run: runExportInference,
});

/** `rows` samples for the model input: from the test set when it fits the model, else zeros of the static shape. */
async function sampleFeed(ctx: CheckContext, model: OpenModel, rows: number): Promise<{ feed: Feed; from: string }> {
  const { run, policy } = ctx;
  const inputsRel = await locateTestArray(run, policy.paths.test_inputs, 'inputs');
  if (inputsRel) {
    const arr = await openTestArray(run, inputsRel, 'inputs', testsetLimits(policy));
    try {
      matchInput(model.input, arr, 1);
      const take = Math.min(rows, arr.rows);
      let data: NdData = castForModel(await arr.readRows(0, take), arr.dtype, model.input.npDtype);
      if (take < rows) {
        // repeat the available samples to fill the batch
        const Ctor = data.constructor as new (n: number) => NdData;
        const filled = new Ctor(rows * arr.rowElements);
        for (let r = 0; r < rows; r++)
          (filled as Float32Array).set(
            (data as Float32Array).subarray((r % take) * arr.rowElements, ((r % take) + 1) * arr.rowElements),
            r * arr.rowElements,
          );
        data = filled;
      }
      return {
        feed: { inputName: model.input.name, dtype: model.input.npDtype, dims: [rows, ...arr.shape.slice(1)], data },
        from: `${arr.rel}`,
      };
    } finally {
      await arr.close();
    }
  }
  const dims = model.input.shape.map((d, k) => (k === 0 ? rows : typeof d === 'number' ? d : 1));
  const n = dims.reduce((a, b) => a * b, 1);
  const zeros: Record<string, () => NdData> = {
    float32: () => new Float32Array(n),
    float16: () => new Uint16Array(n),
    float64: () => new Float64Array(n),
    int64: () => new BigInt64Array(n),
    int32: () => new Int32Array(n),
    uint8: () => new Uint8Array(n),
  };
  return {
    feed: {
      inputName: model.input.name,
      dtype: model.input.npDtype,
      dims,
      data: (zeros[model.input.npDtype] as () => NdData)(),
    },
    from: `zeros ${formatShape(dims)} (no test inputs)`,
  };
}

function line(label: string, s: LatencySummary): string {
  return `${label}: ${s.requests} requests, p50 ${fmt(s.p50_ms, 3)} ms, p90 ${fmt(s.p90_ms, 3)} ms, p95 ${fmt(s.p95_ms, 3)} ms, p99 ${fmt(s.p99_ms, 3)} ms, max ${fmt(s.max_ms, 3)} ms, mean ${fmt(s.mean_ms, 3)} ms, ${fmt(s.throughput_rps, 1)} samples/s`;
}

/** The latency rule of the design: p95 below the budget passes; p95 equal to it does not. */
export function withinLatencyBudget(p95Ms: number, budgetMs: number): boolean {
  return p95Ms < budgetMs;
}

async function runExportInference(ctx: CheckContext): Promise<CheckOutcome> {
  const { run, policy } = ctx;
  const where = await locateExport(run, policy);
  if (where.kind === 'torchscript') {
    return fail(
      [
        `only a TorchScript export was found (${where.rel}); the inference test runs the ONNX model ${policy.paths.onnx_model}`,
      ],
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
  let model: OpenModel;
  try {
    model = await openModel(run, where.rel, policy, ctx.signal);
  } catch (err) {
    if (err instanceof GateError && err.code === 'PARSE_ERROR')
      return fail([err.message], {}, { remediation: 'Re-export the model: the file is not a loadable ONNX model.' });
    throw err;
  }
  try {
    const evidence = [...model.evidence];
    const lat = policy.latency;
    // 1. smoke test: one sample, output [1, classes], finite
    const one = await sampleFeed(ctx, model, 1);
    // run() transfers its input: hand it a copy, the feed is reused by the load test
    const out = await model.worker.run({ ...one.feed, data: one.feed.data.slice() as NdData }, model.output.name);
    const classes = outputClasses(model.output) ?? out.dims[1];
    const nonFinite = out.data.reduce((a, v) => a + (Number.isFinite(v) ? 0 : 1), 0);
    evidence.push(`one sample from ${one.from} → output "${model.output.name}" ${formatShape(out.dims)} ${out.type}`);
    const problems: string[] = [];
    if (out.dims.length !== 2 || out.dims[0] !== 1 || (classes !== undefined && out.dims[1] !== classes)) {
      problems.push(`output shape ${formatShape(out.dims)} is not [1, ${classes ?? 'classes'}]`);
    }
    if (nonFinite > 0) problems.push(`output values are not finite (${nonFinite} of ${out.data.length} are NaN/Inf)`);
    if (problems.length > 0) {
      return fail(
        [`inference smoke test fails: ${problems.join('; ')}`, ...evidence],
        {},
        {
          remediation: `${REMEDIATION} The exported model's output must be finite class scores of shape [1, classes]; re-export it (opset ≥ 13, float32).`,
        },
      );
    }
    evidence.push(`output is [1, ${out.dims[1]}] and finite (argmax ${out.data.indexOf(Math.max(...out.data))})`);

    // 2. latency load test: warm-up, then single-sample requests timed in the worker
    const total = lat.requests;
    const raw = await model.worker.latency(
      one.feed,
      { warmup: lat.warmup_requests, requests: total, concurrency: 1 },
      (done, t) => ctx.onProgress?.({ done, total: t, label: 'latency' }),
    );
    const single = summarizeLatency(raw.durations, raw.elapsedMs);
    evidence.push(line(`latency (batch 1, sequential, after ${lat.warmup_requests} warm-up requests)`, single));
    const metrics: Metrics = {
      p50_ms: single.p50_ms,
      p95_ms: single.p95_ms,
      p99_ms: single.p99_ms,
      requests: single.requests,
      throughput_rps: single.throughput_rps,
      p90_ms: single.p90_ms,
      max_ms: single.max_ms,
      mean_ms: single.mean_ms,
      p95_budget_ms: lat.p95_budget_ms,
    };

    // 3. optional throughput at other batch sizes and concurrency levels: each bounded by time
    // (latency.throughput_seconds), so its cost does not scale with the model's
    const throughput = { warmup: 2, requests: 1_000_000, durationMs: lat.throughput_seconds * 1000 };
    const staticBatch = typeof model.input.shape[0] === 'number' ? model.input.shape[0] : null;
    for (const b of lat.batch_sizes.filter((x) => x > 1)) {
      if (staticBatch !== null && staticBatch !== b) {
        evidence.push(`batch ${b}: skipped, the model's batch dimension is fixed at ${staticBatch}`);
        continue;
      }
      const feed = await sampleFeed(ctx, model, b);
      const r = await model.worker.latency(feed.feed, { ...throughput, concurrency: 1 });
      const s = summarizeLatency(r.durations, r.elapsedMs, b);
      metrics[`batch${b}_window_ms`] = Math.round(r.elapsedMs);
      metrics[`batch${b}_p50_ms`] = s.p50_ms;
      metrics[`batch${b}_per_sample_ms`] = Math.round((s.p50_ms / b) * 1000) / 1000;
      metrics[`batch${b}_throughput_sps`] = s.throughput_rps;
      // the request count varies with machine speed (the run is timed): throughput says it
      evidence.push(
        `batch ${b}: timed for ${fmt(r.elapsedMs / 1000, 1)} s, p50 ${fmt(s.p50_ms, 3)} ms per batch = ${fmt(s.p50_ms / b, 4)} ms per sample, p95 ${fmt(s.p95_ms, 3)} ms, ${fmt(s.throughput_rps, 1)} samples/s`,
      );
    }
    for (const c of lat.concurrency.filter((x) => x > 1)) {
      const r = await model.worker.latency(one.feed, { ...throughput, concurrency: c });
      const s = summarizeLatency(r.durations, r.elapsedMs);
      metrics[`concurrency${c}_p95_ms`] = s.p95_ms;
      metrics[`concurrency${c}_throughput_rps`] = s.throughput_rps;
      metrics[`concurrency${c}_window_ms`] = Math.round(r.elapsedMs);
      evidence.push(
        `concurrency ${c} (one session, requests queue in the worker): ${fmt(r.elapsedMs / 1000, 1)} s of requests, ${line('', s).replace(/^: \d+ requests, /, '')}`,
      );
    }
    const fp = machineFingerprint(model.session.ortVersion, model.session.executionProvider, lat.intra_op_threads);
    evidence.push(
      `machine: ${fp.cpu}, ${fp.cores} cores, ${fp.platform}, Node ${fp.node}, onnxruntime-node ${fp.onnxruntime}, ${fp.execution_provider} execution provider, intra-op threads: ${fp.intra_op_threads}`,
    );
    metrics.machine_cpu = fp.cpu;
    metrics.machine_cores = fp.cores;
    metrics.onnxruntime_version = fp.onnxruntime;
    metrics.execution_provider = fp.execution_provider;
    metrics.intra_op_threads = fp.intra_op_threads;

    if (single.requests < 1000)
      evidence.push(`note: ${single.requests} requests is below the checklist's 1000+ (policy latency.requests)`);
    if (!withinLatencyBudget(single.p95_ms, lat.p95_budget_ms)) {
      evidence.unshift(
        `p95 latency ${fmt(single.p95_ms, 3)} ms is ${single.p95_ms > lat.p95_budget_ms ? 'over' : 'at'} the ${lat.p95_budget_ms} ms budget (p95 must be below it)`,
      );
      return fail(evidence, metrics, {
        remediation: `${REMEDIATION} Latency p95 is over budget: profile the model, reduce its size (quantise, prune), set intra-op threads, or raise latency.p95_budget_ms if the product allows.`,
      });
    }
    evidence.unshift(
      `inference works: p95 ${fmt(single.p95_ms, 3)} ms < ${lat.p95_budget_ms} ms budget over ${single.requests} requests`,
    );
    return pass(evidence, metrics);
  } finally {
    await model.worker.close();
  }
}

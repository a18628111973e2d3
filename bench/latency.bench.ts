/**
 * export.inference's latency load test (1000 single-sample requests timed in the worker) against
 * a raw single-request loop on the main thread, same ResNet-18 model, same run. Target: p50 within 5 %.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { RunArtifacts } from '../src/artifacts/run.js';
import { check } from '../src/checks/export-inference.js';
import { runCheck } from '../src/checks/runner.js';
import { DEFAULT_POLICY } from '../src/policy/schema.js';
import { ensureResnetRun, median } from './onnx-setup.js';

// Odd, so the median is a measured round; ratios are paired per round so machine drift cancels.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const dir = ensureResnetRun();
const policy = { ...DEFAULT_POLICY, latency: { ...DEFAULT_POLICY.latency, batch_sizes: [1], concurrency: [1] } };
const { requests, warmup_requests } = policy.latency;

async function rawLoop(): Promise<number> {
  const session = await ort.InferenceSession.create(path.join(dir, 'models/production_model.onnx'));
  const feeds = { input: new ort.Tensor('float32', new Float32Array(3 * 224 * 224).fill(0.5), [1, 3, 224, 224]) };
  for (let i = 0; i < warmup_requests; i++) await session.run(feeds);
  const d: number[] = [];
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    d.push(performance.now() - t0);
  }
  await session.release();
  return median(d);
}

const raw: number[] = [];
const ours: number[] = [];
const p95: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  raw.push(await rawLoop());
  const r = await runCheck(check, { run: await RunArtifacts.open(dir), policy });
  ours.push(Number(r.metrics.p50_ms));
  p95.push(Number(r.metrics.p95_ms));
  console.log(
    `round ${i + 1}: raw loop p50 ${raw.at(-1)?.toFixed(3)} ms, ours p50 ${r.metrics.p50_ms} ms p95 ${r.metrics.p95_ms} ms p99 ${r.metrics.p99_ms} ms (${r.status}, ${r.metrics.requests} requests, ${r.metrics.throughput_rps} req/s)`,
  );
}
const ratios = ours.map((o, i) => o / raw[i]!);
const ratio = median(ratios);
console.log(
  `RESULT latency: ours p50 ${median(ours).toFixed(3)} ms, raw single-request loop p50 ${median(raw).toFixed(3)} ms, median paired ratio ${ratio.toFixed(3)} (per round ${ratios.map((r) => r.toFixed(3)).join(' / ')}; target within 5 %: 0.95–1.05); ours p95 ${median(p95).toFixed(3)} ms`,
);

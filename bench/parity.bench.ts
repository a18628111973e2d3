/**
 * export.parity on a ResNet-18-sized model over 256 samples, against a plain onnxruntime-node
 * loop over the same model and data in the same run. Target: ours ÷ plain ≤ 1.05.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { RunArtifacts } from '../src/artifacts/run.js';
import { check } from '../src/checks/export-parity.js';
import { runCheck } from '../src/checks/runner.js';
import { DEFAULT_POLICY } from '../src/policy/schema.js';
import { ensureResnetRun, median, plainParity, SAMPLES } from './onnx-setup.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const dir = ensureResnetRun();
const modelMb = statSync(path.join(dir, 'models/production_model.onnx')).size / 1e6;
console.log(
  `ResNet-18: ${modelMb.toFixed(1)} MB ONNX, ${SAMPLES} samples, batch ${DEFAULT_POLICY.parity.batch_size}, ${ROUNDS} alternating rounds`,
);

const ours: number[] = [];
const plain: number[] = [];
await plainParity(dir); // warm the page cache and onnxruntime once, for both
for (let i = 0; i < ROUNDS; i++) {
  const p = await plainParity(dir);
  plain.push(p.ms);
  const t0 = performance.now();
  const r = await runCheck(check, { run: await RunArtifacts.open(dir), policy: DEFAULT_POLICY });
  ours.push(performance.now() - t0);
  if (r.status !== 'pass') console.log('unexpected status', r.status, r.evidence.slice(0, 3));
  console.log(
    `round ${i + 1}: plain ${p.ms.toFixed(0)} ms (${p.correct}/${SAMPLES} correct), ours ${ours.at(-1)?.toFixed(0)} ms (${r.status}, flipped ${r.metrics.flipped}, max abs diff ${r.metrics.max_abs_diff})`,
  );
}
const ratio = median(ours) / median(plain);
console.log(
  `RESULT parity: ours median ${median(ours).toFixed(0)} ms, plain onnxruntime-node loop median ${median(plain).toFixed(0)} ms, ratio ${ratio.toFixed(3)} (target ≤ 1.05)`,
);

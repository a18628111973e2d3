/**
 * Memory: export.parity over a ≥ 1.5 GB test set (ResNet-18 inputs, written here with a streamed
 * writer and deleted afterwards) keeps peak RSS ≤ model + 300 MB. The check runs in a fresh child
 * process, whose peak RSS (worker thread included) is read from process.resourceUsage().
 */
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { RunArtifacts } from '../src/artifacts/run.js';
import { check } from '../src/checks/export-parity.js';
import { runCheck } from '../src/checks/runner.js';
import { DEFAULT_POLICY } from '../src/policy/schema.js';
import { encodeNpy, npyHeader } from '../src/testset/npy.js';
import { CACHE, ensureResnetRun } from './onnx-setup.js';

const SAMPLE_SHAPE = [3, 224, 224];
const SAMPLE_BYTES = 3 * 224 * 224 * 4;
const TARGET_BYTES = Number(process.env.BENCH_MEMORY_BYTES ?? 1.55e9);

async function child(dir: string): Promise<void> {
  const t0 = performance.now();
  const r = await runCheck(check, { run: await RunArtifacts.open(dir), policy: DEFAULT_POLICY });
  const ms = performance.now() - t0;
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(
    JSON.stringify({ maxRssMb, ms, status: r.status, samples: r.metrics.samples, evidence: r.evidence.slice(0, 1) }),
  );
}

/** Writes inputs.npy sample by sample (never the whole array in memory). */
function writeLargeInputs(file: string, n: number): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, npyHeader('float32', [n, ...SAMPLE_SHAPE]));
    const sample = new Float32Array(SAMPLE_BYTES / 4);
    let seed = 1;
    for (let i = 0; i < sample.length; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      sample[i] = seed / 1073741824 - 1;
    }
    const bytes = new Uint8Array(sample.buffer);
    for (let i = 0; i < n; i++) {
      sample[0] = i; // not all samples identical
      writeSync(fd, bytes);
    }
  } finally {
    closeSync(fd);
  }
}

/** The model's own footprint: plain onnxruntime-node loads it and runs one batch of the parity batch size. */
async function baseline(dir: string): Promise<void> {
  const ort = await import('onnxruntime-node');
  const s = await ort.InferenceSession.create(path.join(dir, 'models/production_model.onnx'));
  const b = DEFAULT_POLICY.parity.batch_size;
  await s.run({ input: new ort.Tensor('float32', new Float32Array((b * SAMPLE_BYTES) / 4), [b, ...SAMPLE_SHAPE]) });
  console.log(JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

function runChild(mode: string, dir: string): { maxRssMb: number; ms: number; status: string; samples: number } {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'memory.bench.ts'), mode, dir], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`child ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as {
    maxRssMb: number;
    ms: number;
    status: string;
    samples: number;
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3] as string);
  if (process.argv[2] === '--baseline') return baseline(process.argv[3] as string);
  const resnet = ensureResnetRun();
  const dir = path.join(CACHE, 'memory-run');
  rmSync(dir, { recursive: true, force: true });
  for (const d of ['models', 'data/test', 'results/production']) mkdirSync(path.join(dir, d), { recursive: true });
  copyFileSync(path.join(resnet, 'models/production_model.onnx'), path.join(dir, 'models/production_model.onnx'));
  const n = Math.ceil(TARGET_BYTES / SAMPLE_BYTES);
  writeFileSync(path.join(dir, 'data/test/labels.npy'), encodeNpy('int64', [n], new BigInt64Array(n)));
  writeFileSync(path.join(dir, 'results/production/test_results.md'), '- **Test Accuracy**: 10.0%\n');
  try {
    const t0 = performance.now();
    writeLargeInputs(path.join(dir, 'data/test/inputs.npy'), n);
    const inputBytes = statSync(path.join(dir, 'data/test/inputs.npy')).size;
    const modelMb = statSync(path.join(dir, 'models/production_model.onnx')).size / 1e6;
    console.log(
      `test set: ${n} samples, ${(inputBytes / 1e9).toFixed(2)} GB written in ${((performance.now() - t0) / 1000).toFixed(1)} s; model ${modelMb.toFixed(1)} MB`,
    );
    const base = runChild('--baseline', dir);
    const res = runChild('--child', dir);
    const fileLimit = (modelMb * 1e6) / 1048576 + 300;
    const loadedLimit = base.maxRssMb + 300;
    console.log(
      `check status ${res.status} (labels are placeholders; only memory is measured), ${res.samples} samples in ${(res.ms / 1000).toFixed(1)} s`,
    );
    console.log(
      `model footprint (plain onnxruntime-node process: load + one batch of ${DEFAULT_POLICY.parity.batch_size}): peak RSS ${base.maxRssMb.toFixed(0)} MiB`,
    );
    console.log(
      `RESULT memory: peak RSS ${res.maxRssMb.toFixed(0)} MiB for a ${(inputBytes / 1e9).toFixed(2)} GB test set = loaded model + ${(res.maxRssMb - base.maxRssMb).toFixed(0)} MiB ` +
        `(limit loaded model + 300 MiB = ${loadedLimit.toFixed(0)} MiB: ${res.maxRssMb <= loadedLimit ? 'within' : 'OVER'}; ` +
        `against the ONNX file size + 300 MiB = ${fileLimit.toFixed(0)} MiB: ${res.maxRssMb <= fileLimit ? 'within' : 'over'})`,
    );
  } finally {
    rmSync(path.join(dir, 'data/test/inputs.npy'), { force: true });
  }
}

await main();

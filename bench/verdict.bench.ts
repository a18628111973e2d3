/**
 * Time to verdict of a ResNet-18 run (256 samples of 3×224×224): `readiness check` through the real
 * CLI (every automated check, heavy ones in the CLI's child process, the default policy: 1000
 * single-sample requests after 50 warm-up, then the time-bounded throughput windows of batch 16
 * and 32, `latency.throughput_seconds` each) against what a hand-written script needs for the two
 * measurements the checklist asks for: one plain parity loop (onnxruntime-node on the main thread,
 * batches of 32, argmax against labels) plus 1000 plain single-sample `session.run` calls after 50
 * warm-up. Both measured in the same run, alternating which goes first; target ratio ≤ 1.3.
 *
 * The run is examples/digits-run with the ResNet-18 model and test set of bench/onnx-setup.ts in
 * place of the digits ones (its documents and checkpoints stay, so some light checks fail: the
 * verdict is "blocked", which takes as long to reach as "passed" — every check runs either way).
 * `node --import tsx bench/verdict.bench.ts` (or `npm run bench -- verdict`); BENCH_ROUNDS (default 3).
 */
import { spawn } from 'node:child_process';
import { copyFile, cp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { DEFAULT_POLICY } from '../src/policy/schema.js';
import { CACHE, ensureResnetRun, median, plainParity } from './onnx-setup.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const { requests, warmup_requests, throughput_seconds, batch_sizes } = DEFAULT_POLICY.latency;

async function fullRun(): Promise<string> {
  const resnet = ensureResnetRun();
  const dir = path.join(CACHE, 'resnet18-verdict-run');
  await rm(dir, { recursive: true, force: true });
  await cp(path.join(REPO, 'examples/digits-run'), dir, { recursive: true });
  for (const rel of [
    'models/production_model.onnx',
    'data/test/inputs.npy',
    'data/test/labels.npy',
    'data/test/reference_outputs.npy',
  ])
    await copyFile(path.join(resnet, rel), path.join(dir, rel));
  return dir;
}

/** 1000 single-sample requests after 50 warm-up, session on the main thread (what a script would do). */
async function plainRequests(dir: string): Promise<number> {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(path.join(dir, 'models/production_model.onnx'));
  const feeds = { input: new ort.Tensor('float32', new Float32Array(3 * 224 * 224).fill(0.5), [1, 3, 224, 224]) };
  for (let i = 0; i < warmup_requests; i++) await session.run(feeds);
  for (let i = 0; i < requests; i++) await session.run(feeds);
  await session.release();
  return performance.now() - t0;
}

interface Verdict {
  ms: number;
  gate: string;
  checks: { id: string; status: string; duration_ms: number; metrics?: Record<string, unknown> }[];
}

async function verdict(dir: string): Promise<Verdict> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(REPO, 'bin/readiness.js'), 'check', dir, '--format', 'json'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('close', r));
  const ms = performance.now() - t0;
  const j = JSON.parse(out) as Omit<Verdict, 'ms'>;
  return { ms, gate: j.gate, checks: j.checks };
}

const dir = await fullRun();
console.log(
  `ResNet-18, 256 samples; policy: ${requests} requests after ${warmup_requests} warm-up, batch sizes ${batch_sizes.join('/')} (extra ones timed ${throughput_seconds} s each); ${os.cpus().length} cores, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
// warm the page cache and onnxruntime's first load for both sides
await plainParity(dir);

const ratios: number[] = [];
const base: number[] = [];
const ours: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const measureBase = async () => {
    const parity = await plainParity(dir);
    const reqMs = await plainRequests(dir);
    return { parity: parity.ms, requests: reqMs, total: parity.ms + reqMs };
  };
  let b: Awaited<ReturnType<typeof measureBase>>;
  let v: Verdict;
  if (r % 2 === 0) {
    b = await measureBase();
    v = await verdict(dir);
  } else {
    v = await verdict(dir);
    b = await measureBase();
  }
  base.push(b.total);
  ours.push(v.ms);
  ratios.push(v.ms / b.total);
  const heavy = v.checks
    .filter((c) => c.duration_ms > 500)
    .map((c) => `${c.id} ${(c.duration_ms / 1000).toFixed(1)} s`)
    .join(', ');
  const inf = v.checks.find((c) => c.id === 'export.inference')?.metrics ?? {};
  const windows = batch_sizes
    .filter((x) => x > 1)
    .map((x) => `batch ${x} ${inf[`batch${x}_window_ms`]} ms`)
    .join(', ');
  console.log(
    `round ${r + 1}: baseline ${(b.total / 1000).toFixed(1)} s (parity loop ${(b.parity / 1000).toFixed(1)} s + ${requests} requests ${(b.requests / 1000).toFixed(1)} s); readiness check ${(v.ms / 1000).toFixed(1)} s (gate ${v.gate}; checks over 0.5 s: ${heavy}; throughput windows: ${windows}); ratio ${(v.ms / b.total).toFixed(2)}`,
  );
}
console.log(
  `RESULT time to verdict: readiness check median ${(median(ours) / 1000).toFixed(1)} s, baseline median ${(median(base) / 1000).toFixed(1)} s, ratio median ${median(ratios).toFixed(2)} (per round ${ratios.map((x) => x.toFixed(2)).join(' / ')}; target ≤ 1.3)`,
);
if (median(ratios) > 1.3) process.exitCode = 1;

/**
 * Light pass and manifest hashing.
 * - Light pass: every non-heavy check on the example run (median of many iterations), against a
 *   baseline that only reads the same files the checks read (ratio = cost of parsing/judging).
 * - Manifest hashing: our streaming sha256 over a 512 MB file + the example run, against
 *   `sha256sum` over the same files, in the same run (ratio of throughputs).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildManifest, buildRunManifest } from '../src/artifacts/manifest.js';
import { RunArtifacts } from '../src/artifacts/run.js';
import { AUTOMATED_CHECKS } from '../src/checks/registry.js';
import { runChecks } from '../src/checks/runner.js';
import { loadEffectivePolicy } from '../src/policy/load.js';
import { median } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const example = path.resolve(here, '../examples/digits-run');
const cache = path.join(here, '.cache');

async function lightPass(iterations: number): Promise<{ ms: number; files: string[] }> {
  const light = AUTOMATED_CHECKS.filter((c) => !c.heavy);
  const times: number[] = [];
  let files: string[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    const run = await RunArtifacts.open(example);
    const { policy } = await loadEffectivePolicy(run);
    await runChecks(light, { run, policy });
    times.push(performance.now() - t0);
    files = [...run.accessed];
  }
  return { ms: median(times), files };
}

async function readBaseline(files: string[], iterations: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    for (const f of files) await readFile(path.join(example, f));
    times.push(performance.now() - t0);
  }
  return median(times);
}

function ensureBigFile(bytes: number): string {
  mkdirSync(path.join(cache, 'hashrun'), { recursive: true });
  const file = path.join(cache, 'hashrun', 'big.bin');
  if (existsSync(file) && statSync(file).size === bytes) return file;
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24;
  for (let w = 0; w < bytes; w += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - w));
  closeSync(fd);
  return file;
}

async function main(): Promise<void> {
  const iterations = 50;
  await lightPass(5); // warm-up: module loading, JIT
  const light = await lightPass(iterations);
  const base = await readBaseline(light.files, iterations);
  console.log(
    `light pass (${AUTOMATED_CHECKS.filter((c) => !c.heavy).length} checks, ${light.files.length} files): median ${light.ms.toFixed(2)} ms`,
  );
  console.log(`baseline (read the same ${light.files.length} files): median ${base.toFixed(2)} ms`);
  console.log(`ratio light pass / plain reads: ${(light.ms / base).toFixed(2)}`);

  const big = ensureBigFile(512 * 1024 * 1024);
  const run = await RunArtifacts.open(path.dirname(big));
  // Warm the page cache for both contenders.
  execFileSync('sha256sum', [big]);
  const t0 = performance.now();
  const m = await buildManifest(run, ['big.bin']);
  const ours = performance.now() - t0;
  const t1 = performance.now();
  execFileSync('sha256sum', [big]);
  const theirs = performance.now() - t1;
  const mb = m.bytes / 1024 / 1024;
  console.log(
    `manifest hashing: ours ${(mb / (ours / 1000)).toFixed(0)} MB/s, sha256sum ${(mb / (theirs / 1000)).toFixed(0)} MB/s over ${mb.toFixed(0)} MB`,
  );
  console.log(`ratio ours / sha256sum (time): ${(ours / theirs).toFixed(2)}`);

  const exRun = await RunArtifacts.open(example);
  const { policy } = await loadEffectivePolicy(exRun);
  const t2 = performance.now();
  const em = await buildRunManifest(exRun, policy);
  const exOurs = performance.now() - t2;
  const t3 = performance.now();
  execFileSync(
    'sha256sum',
    em.entries.map((e) => path.join(example, e.path)),
  );
  const exTheirs = performance.now() - t3;
  console.log(
    `example run manifest (${em.entries.length} files, ${(em.bytes / 1024).toFixed(0)} KB): ours ${exOurs.toFixed(2)} ms, sha256sum ${exTheirs.toFixed(2)} ms (process start included)`,
  );
}

await main();

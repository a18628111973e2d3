/**
 * Hostile runs against the good run, each through the real CLI (`node bin/readiness.js check`,
 * heavy checks in their child process): peak resident memory of the whole process tree (CLI +
 * heavy child, sampled from /proc every 25 ms), wall time, and for the limit attacks the time to
 * the error against the configured limit. Limits for this run: heavy checks 10 s / 1024 MB.
 * The CLI runs in a scratch folder holding a `weights.bin`, the file the sparse_value model names.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildZip } from '../test/formats/zip-builder.js';
import { deflateBombEntry, integerBombCheckpoint } from '../test/helpers/hostile-artifacts.js';
import {
  endlessLoopModel,
  memoryBombModel,
  modelWithIf,
  nestedGraph,
  nodeBombGraph,
  sparseExternalModel,
} from '../test/onnx/build.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLE = path.join(REPO, 'examples/digits-run');
const LIMITS = { check_timeout_s: { light: 120, heavy: 10 }, heavy_check_memory_mb: 1024 };

/** Resident bytes of `root` and its descendants (synchronous: samples never overlap). */
function treeRss(root: number): number {
  const parents = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(d), Number(fields[1]));
      rss.set(Number(d), Number(fields[21]) * 4096);
    } catch {
      // exited while we looked
    }
  }
  let total = 0;
  for (const [pid, bytes] of rss) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parents.get(p)) {
      if (p === root) {
        total += bytes;
        break;
      }
    }
  }
  return total;
}

interface Outcome {
  name: string;
  seconds: number;
  peakMb: number;
  gate: string;
  checks: {
    id: string;
    status: string;
    evidence: string[];
    duration_ms: number;
    security?: boolean;
    metrics?: Record<string, unknown>;
  }[];
}

async function check(name: string, runDir: string, policyFile: string, cwd: string): Promise<Outcome> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [path.join(REPO, 'bin/readiness.js'), 'check', runDir, '--policy', policyFile, '--format', 'json', '--quiet'],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, treeRss(child.pid as number));
  }, 25);
  await new Promise((r) => child.once('close', r));
  clearInterval(sampler);
  const seconds = (performance.now() - t0) / 1000;
  const j = JSON.parse(out) as { gate: string; checks: Outcome['checks'] };
  return { name, seconds, peakMb: peak / 2 ** 20, gate: j.gate, checks: j.checks };
}

const base = await mkdtemp(path.join(tmpdir(), 'hostile-bench-'));
try {
  const policyFile = path.join(base, 'policy.json');
  await writeFile(policyFile, JSON.stringify({ limits: LIMITS }));
  const cwd = path.join(base, 'cwd');
  await mkdir(cwd);
  await writeFile(path.join(cwd, 'weights.bin'), Buffer.from(new Float32Array([1]).buffer));
  const variant = async (name: string, mutate: (dir: string) => Promise<void>): Promise<string> => {
    const dir = path.join(base, name);
    await cp(EXAMPLE, dir, { recursive: true });
    await mutate(dir);
    return dir;
  };
  const model = (bytes: Uint8Array) => async (dir: string) =>
    writeFile(path.join(dir, 'models/production_model.onnx'), bytes);
  const runs: [string, string, string][] = [
    ['good', await variant('good', async () => undefined), 'all checks'],
    [
      'FIFO training.log',
      await variant('fifo', async (dir) => {
        await unlink(path.join(dir, 'results/production/training.log'));
        execFileSync('mkfifo', [path.join(dir, 'results/production/training.log')]);
      }),
      'training.completed',
    ],
    [
      'node bomb (30 M empty nodes in an If body, 60 MB)',
      await variant('node-bomb', model(modelWithIf(nodeBombGraph(30_000_000)))),
      'export.parity',
    ],
    ['subgraphs nested 2000 deep', await variant('deep', model(modelWithIf(nestedGraph(2000)))), 'export.parity'],
    [
      'memory bomb (ConstantOfShape, 4 GB)',
      await variant('memory-bomb', model(memoryBombModel(1_000_000_000))),
      'export.inference',
    ],
    ['endless Loop (10^15 iterations)', await variant('endless', model(endlessLoopModel())), 'export.inference'],
    [
      'sparse_value with external data "weights.bin" (present in the working directory)',
      await variant('sparse-external', model(sparseExternalModel('weights.bin'))),
      'export.inference',
    ],
    [
      'pickle integer bomb (59 MB data.pkl of 4096-byte LONG4s)',
      await variant('integer-bomb', async (dir) =>
        writeFile(path.join(dir, 'checkpoints/production/final_model_best.pt'), integerBombCheckpoint()),
      ),
      'checkpoint.best',
    ],
    [
      'npz deflate bomb (inputs.npz of 1.8 MB expanding to 1.75 GiB)',
      await variant('deflate-bomb', async (dir) => {
        const labels = await readFile(path.join(dir, 'data/test/labels.npy'));
        await unlink(path.join(dir, 'data/test/inputs.npy'));
        await unlink(path.join(dir, 'data/test/labels.npy'));
        await writeFile(
          path.join(dir, 'data/test/inputs.npz'),
          buildZip([deflateBombEntry(), { name: 'labels.npy', data: labels }]),
        );
      }),
      'export.parity',
    ],
    [
      'nested JSON (metrics.json of 4 MB of "[")',
      await variant('nested-json', async (dir) =>
        writeFile(path.join(dir, 'results/production/metrics.json'), '['.repeat(4 * 1024 * 1024)),
      ),
      'training.completed',
    ],
  ];
  const results: Outcome[] = [];
  for (const [name, dir] of runs) results.push(await check(name, dir, policyFile, cwd));
  const good = results[0] as Outcome;
  console.log(`limits: heavy ${LIMITS.check_timeout_s.heavy} s, ${LIMITS.heavy_check_memory_mb} MB\n`);
  console.log(
    '| run | gate | watched check: status, evidence | wall s | peak RSS MB (CLI + heavy child) | RSS ÷ good | time ÷ good |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const [i, r] of results.entries()) {
    const id = (runs[i] as [string, string, string])[2];
    const c = r.checks.find((x) => x.id === id);
    const what = c
      ? `${id}: ${c.status}${c.security ? ' (security)' : ''}, "${(c.evidence[0] ?? '').slice(0, 90)}…" in ${(c.duration_ms / 1000).toFixed(2)} s`
      : 'all automated checks';
    console.log(
      `| ${r.name} | ${r.gate} | ${what} | ${r.seconds.toFixed(1)} | ${r.peakMb.toFixed(0)} | ${(r.peakMb / good.peakMb).toFixed(2)} | ${(r.seconds / good.seconds).toFixed(2)} |`,
    );
  }
  const named = (prefix: string) => results.find((r) => r.name.startsWith(prefix))?.checks ?? [];
  const endless = named('endless').filter((c) => c.id.startsWith('export.') && c.metrics?.limit_exceeded === 'time');
  const bomb = named('memory bomb').filter((c) => c.metrics?.limit_exceeded === 'memory');
  console.log('');
  for (const c of endless)
    console.log(
      `time limit: ${c.id} ended after ${(c.duration_ms / 1000).toFixed(2)} s = ${(c.duration_ms / 1000 / LIMITS.check_timeout_s.heavy).toFixed(3)} × the ${LIMITS.check_timeout_s.heavy} s limit`,
    );
  for (const c of bomb)
    console.log(
      `memory limit: ${c.id} ended after ${(c.duration_ms / 1000).toFixed(2)} s (${(c.duration_ms / 1000 / LIMITS.check_timeout_s.heavy).toFixed(3)} × the time limit) at ${LIMITS.heavy_check_memory_mb} MB`,
    );
} finally {
  await rm(base, { recursive: true, force: true });
}

/**
 * Queue and workers: 50 evaluations of examples/digits-run submitted at once to 2 worker
 * processes (`readiness worker`, from dist/ — run `npx tsc -p .` first) on a throwaway
 * redis-server. Prints evaluations per minute, queued vs in-process (`checkRun`) time per
 * evaluation, and Redis commands per evaluation from INFO commandstats deltas.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { checkRun } from '../src/engine.js';
import { submitEvaluation } from '../src/evaluations/service.js';
import { ReadinessQueues } from '../src/queue/producer.js';
import { EvaluationStore } from '../src/store/redis-store.js';
import { median } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const EXAMPLE = path.join(REPO, 'examples/digits-run');
const BIN = path.join(REPO, 'bin/readiness.js');
const EVALUATIONS = Number(process.argv[2] ?? 50);
const WORKERS = 2;
const PREFIX = 'bench';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = netConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start');
}

async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1] as string, Number(m[2]));
  return out;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

async function main(): Promise<void> {
  if (!existsSync(path.join(REPO, 'dist/src/cli/main.js'))) throw new Error('build first: npx tsc -p .');
  const dir = await mkdtemp(path.join(tmpdir(), 'readiness-queue-bench-'));
  const root = path.join(dir, 'runs');
  await cp(EXAMPLE, path.join(root, 'digits-run'), { recursive: true });
  // 50 run names (a new evaluation of the same run would supersede the previous one)
  for (let i = 0; i < EVALUATIONS; i++)
    await symlink('digits-run', path.join(root, `run-${String(i).padStart(2, '0')}`));

  const port = await freePort();
  const server = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' },
  );
  const workers: ChildProcess[] = [];
  try {
    await waitPort(port);
    const url = `redis://127.0.0.1:${port}`;

    // Baseline: the same evaluation in process, as `readiness check` runs it.
    await checkRun(path.join(root, 'digits-run'));
    const inProcess: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await checkRun(path.join(root, 'digits-run'));
      inProcess.push(performance.now() - t0);
    }

    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REDIS_URL: url,
      REDIS_PREFIX: PREFIX,
      ARTIFACT_ROOT: root,
      LOG_LEVEL: 'info',
    };
    for (let i = 0; i < WORKERS; i++) {
      const w = spawn(process.execPath, [BIN, 'worker'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      workers.push(w);
      await new Promise<void>((resolve, reject) => {
        let out = '';
        w.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('worker started')) resolve();
        });
        w.once('exit', () => reject(new Error(`worker exited: ${out}`)));
      });
      w.stdout?.resume();
    }

    const redis = new Redis(url, { maxRetriesPerRequest: null });
    const store = new EvaluationStore(redis, { prefix: PREFIX });
    const queues = new ReadinessQueues(redis, PREFIX);
    await new Promise((r) => setTimeout(r, 1000));
    const before = await commandStats(redis);
    let benchCommands = 1; // the INFO above

    const t0 = performance.now();
    const submitted = await Promise.all(
      Array.from({ length: EVALUATIONS }, async (_, i) => {
        const s = performance.now();
        const { evaluation } = await submitEvaluation(store, queues, {
          artifactRoot: root,
          run: `run-${String(i).padStart(2, '0')}`,
          requester: 'cli:bench',
          channel: null,
        });
        return { id: evaluation.id, submittedAt: s };
      }),
    );
    const submitMs = performance.now() - t0;

    // Poll completion cheaply: one pipeline of HVALS on each unfinished evaluation's status hash per 200 ms.
    const doneAt = new Map<string, number>();
    while (doneAt.size < submitted.length) {
      const open = submitted.filter((s) => !doneAt.has(s.id));
      const pipe = redis.pipeline();
      for (const s of open) pipe.hvals(`${PREFIX}:eval:${s.id}:status`);
      const res = (await pipe.exec()) ?? [];
      benchCommands += open.length;
      const now = performance.now();
      res.forEach(([, statuses], i) => {
        if ((statuses as string[]).every((x) => x !== 'pending' && x !== 'running'))
          doneAt.set((open[i] as { id: string }).id, now);
      });
      await new Promise((r) => setTimeout(r, 200));
    }
    const wallMs = Math.max(...doneAt.values()) - t0;
    const after = await commandStats(redis);
    // The machine is shared: measure the in-process baseline again after the queued run, use the median of both.
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => (w.exitCode === null ? new Promise((r) => w.once('exit', r)) : null)));
    for (let i = 0; i < 5; i++) {
      const t1 = performance.now();
      await checkRun(path.join(root, 'digits-run'));
      inProcess.push(performance.now() - t1);
    }
    const tIn = median(inProcess);

    // Submission's own commands are part of an evaluation's cost; the bench's polling is not.
    const delta = new Map<string, number>();
    for (const [k, v] of after) delta.set(k, v - (before.get(k) ?? 0));
    delta.set('hvals', (delta.get('hvals') ?? 0) - (benchCommands - 1));
    delta.set('info', (delta.get('info') ?? 0) - 1);
    const total = [...delta.values()].reduce((a, b) => a + b, 0);
    const top = [...delta]
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8);

    let statuses = 0;
    let passed = 0;
    for (const s of submitted) {
      const st = await store.getState(s.id);
      statuses += st?.checks.length ?? 0;
      passed += st?.checks.filter((c) => c.status === 'pass').length ?? 0;
    }
    const eventJobs = await queues.events.getJobCountByTypes('waiting', 'active', 'completed', 'delayed');
    const auditEntries = await redis.xlen(`${PREFIX}:audit`);
    const latencies = submitted.map((s) => (doneAt.get(s.id) as number) - s.submittedAt);
    const perEvalEffective = wallMs / EVALUATIONS;

    const lines = [
      `evaluations: ${EVALUATIONS} of examples/digits-run, ${WORKERS} worker processes (light concurrency 4, heavy 1 each), 2 shared cores`,
      `checks passed: ${passed}/${statuses}`,
      `submit (manifest + store + enqueue) for all ${EVALUATIONS}: ${submitMs.toFixed(0)} ms`,
      `wall time, first submit to last result: ${(wallMs / 1000).toFixed(2)} s → ${((EVALUATIONS / wallMs) * 60_000).toFixed(1)} evaluations/min`,
      `in-process checkRun per evaluation (median of 5 before + 5 after): ${tIn.toFixed(0)} ms → ${(60_000 / tIn).toFixed(1)} evaluations/min sequentially`,
      `queued time per evaluation (submit → last result): median ${(median(latencies) / 1000).toFixed(2)} s, p95 ${(pct(latencies, 95) / 1000).toFixed(2)} s`,
      `ratio effective queued time per evaluation (wall ÷ ${EVALUATIONS}) ÷ in-process: ${(perEvalEffective / tIn).toFixed(2)}`,
      `ratio median queued latency ÷ in-process: ${(median(latencies) / tIn).toFixed(1)} (includes waiting behind the other ${EVALUATIONS - 1})`,
      `Redis commands per evaluation: ${(total / EVALUATIONS).toFixed(0)} (total ${total}, bench polling excluded)`,
      `  of which Lua script calls (EVALSHA, each one atomic transition): ${((delta.get('evalsha') ?? 0) / EVALUATIONS).toFixed(0)}; commands run inside scripts are counted by Redis too`,
      `change events per evaluation: ${(eventJobs / EVALUATIONS).toFixed(1)} jobs; audit entries per evaluation: ${(auditEntries / EVALUATIONS).toFixed(1)}`,
      `top commands per evaluation: ${top.map(([k, v]) => `${k} ${(v / EVALUATIONS).toFixed(1)}`).join(', ')}`,
    ];
    for (const l of lines) console.log(l);
    await queues.close();
    redis.disconnect();
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => (w.exitCode === null ? new Promise((r) => w.once('exit', r)) : null)));
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

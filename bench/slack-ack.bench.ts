/**
 * Slack acks and gate message updates.
 *  1. Bursts of 50 concurrent signed `/readiness run` commands over HTTP: ack latency p50/p99 of
 *     our app (real store and queue on a throwaway redis-server, evaluations created after each
 *     ack) against a plain Bolt app whose listener only calls ack(), rotating in the same run; a
 *     third app is ours with the intake's yield to takes turned off (what the yield buys).
 *     `--ack-only` stops after this part; `--rounds=N` (default 9) bursts per app.
 *  2. 300 concurrent commands: all acked, and the slowest ack.
 *  3. One evaluation of examples/digits-run on a real worker process: chat.update calls for its
 *     gate message against the number of state changes (coalescing at ~1 per second).
 * Each app runs in its own child process (this file with `--serve plain|ours`), so the client's
 * own work (signing, 50 connections) is not counted against either server.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { request } from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { App } from '@slack/bolt';
import pino from 'pino';
import { ReadinessConfigSchema } from '../src/config/readiness-config.js';
import { connectRedis } from '../src/queue/connection.js';
import { ReadinessQueues } from '../src/queue/producer.js';
import { createSlackRuntime, type SlackRuntime } from '../src/slack/app.js';
import { QueueSubmitter } from '../src/slack/submit.js';
import { EvaluationStore } from '../src/store/redis-store.js';
import { freePort } from '../test/global-setup.js';
import { FakeSlack, waitFor } from '../test/helpers/fake-slack.js';
import { OwnRedis } from '../test/helpers/redis-server.js';
import { cleanupRuns, copyExampleRun } from '../test/helpers/runs.js';
import { commandBody, signedHeaders } from '../test/helpers/slack-sign.js';
import { WorkerProcess } from '../test/helpers/workers.js';

const SECRET = 'bench-signing-secret-0123456789';
const BURST = 50;
const ACK_ONLY = process.argv.includes('--ack-only');
const ROUNDS = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 9);
const BIG = 300;

function post(port: number, body: string): Promise<{ ms: number; status: number }> {
  const headers = signedHeaders(SECRET, body);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // a new connection per request, as Slack's deliveries are
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/slack/events',
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0 }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let trigger = 0;
function bodies(n: number, fake: FakeSlack, run: string): string[] {
  return Array.from({ length: n }, () =>
    commandBody({
      text: `run ${run}`,
      user_id: 'U0BENCH',
      trigger_id: `bench.${++trigger}`,
      response_url: fake.responseUrl('bench'),
    }),
  );
}

/** Requests per port that were not acked with 200 (Bolt answers 404 when no ack came within 3 s). */
const notAcked = new Map<number, number>();

async function burst(port: number, list: string[]): Promise<number[]> {
  const res = await Promise.all(list.map((b) => post(port, b)));
  const bad = res.filter((r) => r.status !== 200).length;
  if (bad > 0) notAcked.set(port, (notAcked.get(port) ?? 0) + bad);
  // a request not acked in time counts with the time it took to be refused (≥ 3 s): it is the tail
  return res.map((r) => r.ms);
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
}

const PREFIX = 'benchslack';

/** Child process: one app on PORT until the parent disconnects. */
type Kind = 'plain' | 'ours' | 'ours-noyield';

/** What held the app's event loop during the last burst: GC pauses (all, and mark-compact) and the longest loop delay. */
interface BurstStats {
  gcMs: number;
  majorGcMs: number;
  loopMaxMs: number;
  /** Slowest pre-ack run check and slowest intake write of the burst (our apps only). */
  runCheckMaxMs: number;
  takeMaxMs: number;
}

/** Durations of our app's two pre-ack steps in the current burst. */
const preAck = { runCheck: 0, take: 0 };

async function timed<T>(step: keyof typeof preAck, p: Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await p;
  } finally {
    preAck[step] = Math.max(preAck[step], performance.now() - t0);
  }
}

function watchLoop(): () => BurstStats {
  let gcMs = 0;
  let majorGcMs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      // NODE_PERFORMANCE_GC_MAJOR = 4 (mark-sweep-compact)
      if ((e as { detail?: { kind?: number } }).detail?.kind === 4) majorGcMs += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  return () => {
    const out = { gcMs, majorGcMs, loopMaxMs: loop.max / 1e6, runCheckMaxMs: preAck.runCheck, takeMaxMs: preAck.take };
    gcMs = 0;
    majorGcMs = 0;
    preAck.runCheck = 0;
    preAck.take = 0;
    loop.reset();
    return out;
  };
}

async function serve(kind: Kind): Promise<void> {
  const port = Number(process.env.PORT);
  const stats = watchLoop();
  process.on('message', (m) => {
    if (m === 'stats') process.send?.({ stats: stats() });
  });
  const apiUrl = process.env.SLACK_API_URL as string;
  if (kind === 'plain') {
    const plain = new App({
      token: 'xoxb-bench',
      signingSecret: SECRET,
      tokenVerificationEnabled: false,
      clientOptions: { slackApiUrl: apiUrl },
    });
    plain.command('/readiness', async ({ ack }) => {
      await ack();
    });
    await plain.start(port);
    process.on('message', (m) => {
      if (m === 'drain') process.send?.('drained');
    });
    process.send?.('ready');
    process.on('disconnect', () => void plain.stop().finally(() => process.exit(0)));
    return;
  }
  const redis = await connectRedis(process.env.REDIS_URL as string);
  const store = new EvaluationStore(redis, { prefix: PREFIX });
  const queues = new ReadinessQueues(redis, PREFIX);
  const config = ReadinessConfigSchema.parse({ roles: { technical: { users: ['U0TECH'] } } });
  const submitter = new QueueSubmitter({ store, queues, config, artifactRoot: process.env.ARTIFACT_ROOT as string });
  const checkRun = submitter.checkRun.bind(submitter);
  submitter.checkRun = (run) => timed('runCheck', checkRun(run));
  const ours: SlackRuntime = createSlackRuntime({
    settings: { botToken: 'xoxb-bench', signingSecret: SECRET, apiUrl, port, tokenVerification: false, retries: 0 },
    store,
    redisPrefix: PREFIX,
    config,
    submitter,
    log: pino({ level: 'silent' }),
    // the same app with processing not yielding to a burst's takes: what the yield buys, in the same run
    ...(kind === 'ours-noyield' ? { intakeYieldToTakesMs: 0 } : {}),
  });
  const take = ours.intake.take.bind(ours.intake);
  ours.intake.take = (item) => timed('take', take(item));
  await ours.start();
  process.on('message', (m) => {
    if (m === 'drain')
      void ours.intake
        .idle()
        .then(() => ours.renderer.idle())
        .then(() => process.send?.('drained'));
  });
  process.send?.('ready');
  process.on('disconnect', () => {
    void ours
      .stop()
      .then(() => queues.close())
      .finally(() => {
        redis.disconnect();
        process.exit(0);
      });
  });
}

function startServer(kind: Kind, env: Record<string, string>): Promise<ChildProcess> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve(child) : reject(new Error(String(m)))));
    child.once('exit', (code) => reject(new Error(`${kind} server exited ${code}`)));
  });
}

function burstStats(child: ChildProcess): Promise<BurstStats> {
  return new Promise((resolve) => {
    const on = (m: unknown): void => {
      if (m && typeof m === 'object' && 'stats' in m) {
        child.off('message', on);
        resolve((m as { stats: BurstStats }).stats);
      }
    };
    child.on('message', on);
    child.send('stats');
  });
}

function drain(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const on = (m: unknown): void => {
      if (m !== 'drained') return;
      child.off('message', on);
      resolve();
    };
    child.on('message', on);
    child.send('drain');
  });
}

async function main(): Promise<void> {
  const redisServer = await OwnRedis.start();
  const fake = new FakeSlack();
  await fake.start();
  const runDir = await copyExampleRun();
  const artifactRoot = path.dirname(runDir);
  const redis = await connectRedis(redisServer.url);
  const store = new EvaluationStore(redis, { prefix: PREFIX });
  const ourPort = await freePort();
  const plainPort = await freePort();
  const env = { REDIS_URL: redisServer.url, SLACK_API_URL: fake.apiUrl, ARTIFACT_ROOT: artifactRoot };
  const ours = await startServer('ours', { ...env, PORT: String(ourPort) });
  const plain = await startServer('plain', { ...env, PORT: String(plainPort) });
  const noyieldPort = await freePort();
  const noyield = await startServer('ours-noyield', { ...env, PORT: String(noyieldPort) });

  // warm-up: connections, JIT, Bolt's first auth.test
  await burst(plainPort, bodies(20, fake, 'run'));
  await burst(ourPort, bodies(20, fake, 'run'));
  await drain(ours);
  await burst(noyieldPort, bodies(20, fake, 'run'));
  await drain(noyield);

  const ms: Record<Kind, number[]> = { plain: [], ours: [], 'ours-noyield': [] };
  const perBurst: { plain: number; ours: number; noyield: number }[] = [];
  const held: Record<Kind, BurstStats[]> = { plain: [], ours: [], 'ours-noyield': [] };
  const child: Record<Kind, ChildProcess> = { plain, ours, 'ours-noyield': noyield };
  const orders: Kind[][] = [
    ['plain', 'ours', 'ours-noyield'],
    ['ours', 'ours-noyield', 'plain'],
    ['ours-noyield', 'plain', 'ours'],
  ];
  for (let r = 0; r < ROUNDS; r++) {
    // rotate which app goes first; our apps' follow-up work (evaluations, gate messages) finishes between bursts
    const p99: Partial<Record<Kind, number>> = {};
    for (const who of orders[r % orders.length] as Kind[]) {
      const port = who === 'plain' ? plainPort : who === 'ours' ? ourPort : noyieldPort;
      const list = bodies(BURST, fake, 'run');
      await burstStats(child[who]);
      const got = await burst(port, list);
      held[who].push(await burstStats(child[who]));
      ms[who].push(...got);
      p99[who] = pct(got, 99);
      if (who === 'ours') await drain(ours);
      if (who === 'ours-noyield') await drain(noyield);
    }
    perBurst.push({ plain: p99.plain ?? 0, ours: p99.ours ?? 0, noyield: p99['ours-noyield'] ?? 0 });
  }
  const evaluationsMade = (await store.listRecent(10_000)).length;
  console.log(
    `ack latency, ${ROUNDS} bursts of ${BURST} concurrent signed /readiness run commands per app (new connection each, each app in its own process):`,
  );
  const line = (label: string, xs: number[]): string =>
    `  ${label}: p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms`;
  console.log(line('plain Bolt (ack only)', ms.plain));
  console.log(line('readiness app (durable intake before each ack)', ms.ours));
  console.log(line('readiness app, processing not yielding to takes', ms['ours-noyield']));
  const ratio = (k: Kind, p: number): string => (pct(ms[k], p) / pct(ms.plain, p)).toFixed(2);
  console.log(`  ratio p99 ${ratio('ours', 99)}x (target <= 1.2x), p50 ${ratio('ours', 50)}x`);
  console.log(`  without the yield: ratio p99 ${ratio('ours-noyield', 99)}x, p50 ${ratio('ours-noyield', 50)}x`);
  console.log(
    `  per-burst p99 ratio, ours: ${perBurst.map((b) => (b.ours / b.plain).toFixed(2)).join(' ')}; without the yield: ${perBurst.map((b) => (b.noyield / b.plain).toFixed(2)).join(' ')}`,
  );
  const heldLine = (k: Kind): string =>
    held[k]
      .map(
        (h) =>
          `${h.gcMs.toFixed(0)}/${h.majorGcMs.toFixed(0)}/${h.loopMaxMs.toFixed(0)}${k === 'plain' ? '' : `/${h.runCheckMaxMs.toFixed(0)}/${h.takeMaxMs.toFixed(0)}`}`,
      )
      .join(' ');
  console.log(
    `  per burst, ms of GC / of it mark-compact / longest event-loop delay (ours also: / slowest run check / slowest intake write): plain ${heldLine('plain')}; ours ${heldLine('ours')}; without the yield ${heldLine('ours-noyield')}`,
  );
  console.log(
    `  not acked with 200 within Bolt's 3 s: plain ${notAcked.get(plainPort) ?? 0}, ours ${notAcked.get(ourPort) ?? 0}, ours without the yield ${notAcked.get(noyieldPort) ?? 0}`,
  );
  if ((notAcked.get(ourPort) ?? 0) > 0) process.exitCode = 1;
  console.log(
    `  evaluations created by the readiness apps: ${evaluationsMade} for ${2 * (20 + ROUNDS * BURST)} commands`,
  );
  noyield.disconnect();
  if (ACK_ONLY) {
    plain.disconnect();
    ours.disconnect();
    await new Promise((r) => ours.once('exit', r));
    redis.disconnect();
    await fake.stop();
    await redisServer.stop();
    await cleanupRuns();
    return;
  }
  const big = await Promise.all(bodies(BIG, fake, 'run').map((b) => post(ourPort, b)));
  const late = big.filter((r) => r.status !== 200).length;
  await drain(ours);
  const bigMs = big.map((r) => r.ms);
  console.log(
    `${BIG} concurrent commands: ${BIG - late} acked (200)${late > 0 ? `, ${late} NOT acked within Bolt's 3 s` : ''}, slowest ${Math.max(...bigMs).toFixed(0)} ms, p99 ${pct(bigMs, 99).toFixed(0)} ms (Slack's limit 3000 ms)`,
  );
  if (late > 0) process.exitCode = 1;
  plain.disconnect();

  // 3. coalescing on one real evaluation
  const worker = await new WorkerProcess({ redisUrl: redisServer.url, prefix: PREFIX, artifactRoot }).ready();
  fake.reset();
  const t0 = performance.now();
  await post(ourPort, bodies(1, fake, 'run')[0] as string);
  const state = await waitFor(
    async () => {
      const s = await store.latestForRun('run');
      return s?.checks.every((c) => c.status === 'pass' || c.status === 'warn') ? s : null;
    },
    'the evaluation to finish',
    180_000,
  );
  const ts = await waitFor(
    async () => (await store.getEvaluation(state.evaluation.id))?.message?.ts,
    'the gate message',
  );
  await waitFor(
    () => JSON.stringify(fake.messages.get(ts)?.blocks ?? []).includes('signoff_approve_technical'),
    'the final render',
    30_000,
  );
  const seconds = (performance.now() - t0) / 1000;
  await drain(ours);
  const final = await store.getEvaluation(state.evaluation.id);
  const updates = fake.callsOf('chat.update').filter((c) => c.args.ts === ts).length;
  console.log(
    `one evaluation of examples/digits-run on a worker process: ${final?.version} state versions in ${seconds.toFixed(1)} s → 1 chat.postMessage + ${updates} chat.update (at most ~1/s per message: ${(updates / seconds).toFixed(2)}/s)`,
  );

  await worker.stop();
  ours.disconnect();
  await new Promise((r) => ours.once('exit', r));
  redis.disconnect();
  await fake.stop();
  await redisServer.stop();
  await cleanupRuns();
}

const entry = process.argv[2] === '--serve' ? serve(process.argv[3] as Kind) : main();
entry.catch((err: unknown) => {
  console.error(err);
  // the app processes end when their IPC channel closes
  process.exit(1);
});

import { type ChildProcess, spawn } from 'node:child_process';
import { symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { connectRedis } from '../../src/queue/connection.js';
import { EvaluationStore } from '../../src/store/redis-store.js';
import { freePort } from '../global-setup.js';
import { FakeSlack, waitFor } from '../helpers/fake-slack.js';
import { holdingProxy } from '../helpers/net.js';
import { OwnRedis } from '../helpers/redis-server.js';
import { cleanupRuns, copyExampleRun, REPO_ROOT } from '../helpers/runs.js';
import { buttonClick, commandBody, interactionBody, signedHeaders } from '../helpers/slack-sign.js';
import { WorkerProcess } from '../helpers/workers.js';

interface Serve {
  p: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  out: () => string;
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

/**
 * `readiness serve` (no workers unless `args` asks) as a real process on `env`; resolves once it
 * logged `until` ("Slack app started" by default). SIGKILLed when the test ends if still running.
 */
async function startServe(env: NodeJS.ProcessEnv, opts: { args?: string[]; until?: string } = {}): Promise<Serve> {
  const until = opts.until ?? 'Slack app started';
  let out = '';
  const p = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/readiness.js'), 'serve', ...(opts.args ?? [])], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  onTestFinished(async () => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGKILL');
    await exited;
  });
  await waitFor(() => out.includes(until) || p.exitCode !== null, `serve to log "${until}"`, 30_000);
  if (!out.includes(until)) throw new Error(`serve exited: ${out}`);
  return { p, out: () => out, exited };
}

/** A worker process on `prefix`, stopped when the test ends. */
async function startWorkers(prefix: string, artifactRoot: string): Promise<WorkerProcess> {
  const worker = await new WorkerProcess({ redisUrl: inject('redisUrl'), prefix, artifactRoot }).ready();
  onTestFinished(async () => {
    await worker.stop();
  });
  return worker;
}

async function postSigned(port: number, secret: string, body: string): Promise<number> {
  return (
    await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', headers: signedHeaders(secret, body), body })
  ).status;
}

function liveButtons(blocks: unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const b of blocks as { type: string; elements?: { action_id?: string; value?: string }[] }[])
    for (const e of b.elements ?? []) if (e.action_id && e.value) out.set(e.action_id, e.value);
  return out;
}

/** `readiness serve --with-workers` as a real process (from dist/: `npx tsc -p .` first). */
describe('readiness serve', () => {
  const fake = new FakeSlack();
  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
    await cleanupRuns();
  });

  /** `/readiness run <run>` from U0REQ in `channel`, signed with `secret`, to the serve on `port`: its HTTP status. */
  const postRun = (port: number, secret: string, run: string, channel: string): Promise<number> =>
    postSigned(
      port,
      secret,
      commandBody({ text: `run ${run}`, user_id: 'U0REQ', channel_id: channel, response_url: fake.responseUrl('req') }),
    );
  /** Messages posted in `channel` outside any thread (gate messages). */
  const topLevelPosts = (channel: string) =>
    fake.callsOf('chat.postMessage').filter((c) => c.args.channel === channel && !c.args.thread_ts);

  it('refuses to start without a signing secret or app token, naming the variable', async () => {
    const p = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/readiness.js'), 'serve'], {
      env: {
        PATH: process.env.PATH,
        REDIS_URL: inject('redisUrl'),
        ARTIFACT_ROOT: '/tmp',
        SLACK_BOT_TOKEN: 'xoxb-1-2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((r) => p.once('exit', r));
    expect(code).toBe(2);
    expect(err).toContain('SLACK_SIGNING_SECRET is not set');
  });

  it('serves signed commands over HTTP, runs the checks on its own workers, and stops on SIGTERM', async () => {
    const runDir = await copyExampleRun();
    const configFile = path.join(path.dirname(runDir), 'readiness.yaml');
    await writeFile(configFile, 'roles:\n  technical:\n    users: [U0TECH]\nnotification_channel: C0NOTIFY\n');
    const port = await freePort();
    const healthPort = await freePort();
    const secret = 'serve-test-signing-secret';
    const app = await startServe(
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        REDIS_URL: inject('redisUrl'),
        REDIS_PREFIX: `serve${port}`,
        ARTIFACT_ROOT: path.dirname(runDir),
        READINESS_CONFIG: configFile,
        SLACK_BOT_TOKEN: 'xoxb-serve-test-token',
        SLACK_SIGNING_SECRET: secret,
        SLACK_API_URL: fake.apiUrl,
        PORT: String(port),
        HEALTH_PORT: String(healthPort),
        LOG_LEVEL: 'info',
        REDIS_MAXMEMORY_CHECK: 'warn',
      },
      { args: ['--with-workers'] },
    );
    // Bolt verified the token against the (fake) Web API at start-up
    expect(fake.callsOf('auth.test').length).toBeGreaterThan(0);
    // secrets never reach the logs
    expect(app.out()).not.toContain('xoxb-serve-test-token');
    expect(app.out()).not.toContain(secret);

    const body = commandBody({ text: 'run run', user_id: 'U0REQ', response_url: fake.responseUrl() });
    const res = await fetch(`http://127.0.0.1:${port}/slack/events`, {
      method: 'POST',
      headers: signedHeaders(secret, body),
      body,
    });
    expect(res.status).toBe(200);
    const live = await waitFor(
      () => [...fake.messages.values()].find((m) => JSON.stringify(m.blocks).includes('signoff_approve_technical')),
      'live buttons from the in-process workers',
      90_000,
    );
    expect(live.channel).toBe('C0GATE');

    // health and metrics of the app: Redis and Slack auth (auth.test on the fake API) are ready
    await waitFor(() => app.out().includes('health and metrics listening'), 'the health listener', 10_000);
    const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: [
        { name: 'redis', ok: true },
        { name: 'slack_auth', ok: true },
        { name: 'checks', ok: true },
      ],
    });
    const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    expect(metrics).toMatch(/readiness_check_duration_seconds_count\{check="export\.parity",status="pass"\} 1/);
    expect(metrics).toMatch(/readiness_queue_jobs\{queue="readiness-light",state="completed"\} \d+/);

    app.p.kill('SIGTERM');
    const code = await app.exited;
    expect(code).toBe(0);
    expect(app.out()).not.toContain('xoxb-serve-test-token');
  });

  it('SIGKILLed mid-evaluation and started again: the gate message reaches its final state, posted once', async () => {
    const runDir = await copyExampleRun();
    const root = path.dirname(runDir);
    const port = await freePort();
    const secret = 'kill-test-signing-secret';
    const prefix = `kill${port}`;
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: prefix,
      ARTIFACT_ROOT: root,
      SLACK_BOT_TOKEN: 'xoxb-kill-test-token',
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: fake.apiUrl,
      PORT: String(port),
      LOG_LEVEL: 'info',
    };
    fake.reset();
    const first = await startServe(env);
    expect(await postRun(port, secret, 'run', 'C0KILL')).toBe(200);
    const posted = await waitFor(
      () => [...fake.messages.values()].find((m) => m.channel === 'C0KILL'),
      'the gate message',
    );
    expect(JSON.stringify(posted.blocks)).not.toContain('signoff_approve_technical');
    // kill after the message ref is stored (a kill between post and store: see the crash-during-post test)
    const redis = await connectRedis(inject('redisUrl'));
    const store = new EvaluationStore(redis, { prefix });
    await waitFor(
      async () => (await store.latestForRun('run'))?.evaluation.message?.ts === posted.ts,
      'the stored message ref',
    );
    redis.disconnect();
    first.p.kill('SIGKILL');
    await first.exited;

    // the checks finish while no app runs
    await startWorkers(prefix, root);
    const second = await startServe(env);
    const final = await waitFor(
      () => {
        const m = fake.messages.get(posted.ts);
        return m && JSON.stringify(m.blocks).includes('signoff_approve_technical') ? m : null;
      },
      'the final state after the restart',
      90_000,
    );
    expect(final.updates).toBeGreaterThan(0);
    expect(topLevelPosts('C0KILL')).toHaveLength(1);
    second.p.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 180_000);

  describe('crashes and shutdown', () => {
    const secret = 'crash-test-signing-secret';
    /** A run (and `run-b`, a link to it), a config and the env of a serve on its own prefix; its store connection is closed when the test ends. */
    async function setup(
      tag: string,
      extra: Record<string, string> = {},
    ): Promise<{
      env: NodeJS.ProcessEnv;
      port: number;
      prefix: string;
      root: string;
      store: EvaluationStore;
      close(): Promise<void>;
    }> {
      const runDir = await copyExampleRun();
      const root = path.dirname(runDir);
      await symlink('run', path.join(root, 'run-b'));
      const configFile = path.join(root, 'readiness.yaml');
      await writeFile(
        configFile,
        'roles:\n  technical:\n    users: [U0TECH]\n  product:\n    users: [U0PROD]\n  compliance:\n    users: [U0COMP]\nnotification_channel: C0NOTIFY\n',
      );
      const port = await freePort();
      const prefix = `${tag}${port}`;
      const env = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        REDIS_URL: inject('redisUrl'),
        REDIS_PREFIX: prefix,
        ARTIFACT_ROOT: root,
        READINESS_CONFIG: configFile,
        SLACK_BOT_TOKEN: 'xoxb-crash-test-token',
        SLACK_SIGNING_SECRET: secret,
        SLACK_API_URL: fake.apiUrl,
        PORT: String(port),
        LOG_LEVEL: 'info',
        ...extra,
      };
      const redis = await connectRedis(env.REDIS_URL);
      const store = new EvaluationStore(redis, { prefix });
      const close = async (): Promise<void> => redis.disconnect();
      onTestFinished(close);
      return { env, port, prefix, root, store, close };
    }

    it('SIGKILL right after the acks of clicks and of a command: after a restart every acked item is applied or audited as refused, once', async () => {
      fake.reset();
      // one item at a time, so the later ones are certainly still queued when the process dies
      const t = await setup('ackkill', { INTAKE_CONCURRENCY: '1' });
      await startWorkers(t.prefix, t.root);
      let app = await startServe(t.env);
      expect(await postRun(t.port, secret, 'run', 'C0ACK')).toBe(200);
      const message = await waitFor(
        () =>
          [...fake.messages.values()].find(
            (m) => m.channel === 'C0ACK' && liveButtons(m.blocks).has('signoff_approve_technical'),
          ),
        'live buttons',
        90_000,
      );
      const value = liveButtons(message.blocks).get('signoff_approve_technical') as string;
      const evaluationId = (await t.store.latestForRun('run'))?.evaluation.id as string;

      // the first click's answer hangs: it is applied but not answered when the process dies
      fake.fail('chat.postEphemeral', { hang: true }, 1, (a) => a.user === 'U0TECH');
      const click = (user: string, role: string): string =>
        interactionBody(buttonClick({ user, actionId: `signoff_approve_${role}`, value, channel: 'C0ACK' }));
      const acked: number[] = [];
      acked.push(await postSigned(t.port, secret, click('U0TECH', 'technical')));
      await waitFor(() => fake.hanging === 1, "the first click's answer to hang");
      acked.push(await postSigned(t.port, secret, click('U0PROD', 'product')));
      acked.push(await postSigned(t.port, secret, click('U0OUT', 'compliance')));
      acked.push(await postRun(t.port, secret, 'run-b', 'C0ACKB'));
      expect(acked).toEqual([200, 200, 200, 200]);
      app.p.kill('SIGKILL');
      await app.exited;
      // nothing after the first click was processed before the kill
      expect(fake.callsOf('chat.postEphemeral').map((c) => c.args.user)).toEqual(['U0TECH']);
      expect(await t.store.latestForRun('run-b')).toBeNull();
      fake.release();

      app = await startServe(t.env);
      const state = await waitFor(
        async () => {
          const s = await t.store.getState(evaluationId);
          return s && s.signoffs.length === 2 ? s : null;
        },
        'both approvals after the restart',
        60_000,
      );
      expect(state.signoffs.map((x) => [x.role, x.user]).sort()).toEqual([
        ['product', 'U0PROD'],
        ['technical', 'U0TECH'],
      ]);
      const audit = await waitFor(
        async () => {
          const a = (await t.store.readAudit({ evaluation: evaluationId })).filter((e) =>
            e.type.startsWith('signoff_'),
          );
          return a.some((e) => e.actor === 'U0OUT') ? a : null;
        },
        "the outsider's refusal",
        60_000,
      );
      // each click applied (or refused) exactly once: no second attempt of the first click
      expect(audit.map((e) => [e.type, e.actor]).sort()).toEqual([
        ['signoff_recorded', 'U0PROD'],
        ['signoff_recorded', 'U0TECH'],
        ['signoff_refused', 'U0OUT'],
      ]);
      const b = await waitFor(() => t.store.latestForRun('run-b'), 'the command taken in before the kill');
      expect(b.evaluation.channel).toBe('C0ACKB');
      // every click answered, the first one as applied (its answer resent, its attempt not repeated)
      const answers = (u: string): number => fake.callsOf('chat.postEphemeral').filter((c) => c.args.user === u).length;
      await waitFor(
        () => answers('U0TECH') >= 2 && answers('U0PROD') >= 1 && answers('U0OUT') >= 1,
        'the answers (the first click answered again)',
        30_000,
      );
      const techAnswers = fake
        .callsOf('chat.postEphemeral')
        .filter((c) => c.args.user === 'U0TECH')
        .map((c) => String(c.args.text));
      expect(techAnswers.every((text) => text.includes('You approved'))).toBe(true);
      await waitFor(
        () => fake.callsOf('chat.postMessage').some((c) => c.args.channel === 'C0ACKB'),
        'the second gate message',
      );
      expect(topLevelPosts('C0ACKB')).toHaveLength(1);
      app.p.kill('SIGTERM');
      expect(await app.exited).toBe(0);
    }, 180_000);

    it('killed while the first chat.postMessage is in flight (Slack posted it): after a restart there is exactly one gate message, and it converges', async () => {
      fake.reset();
      const t = await setup('postkill', { SLACK_API_TIMEOUT_MS: '2000' });
      await startWorkers(t.prefix, t.root);
      let app = await startServe(t.env);
      // Slack performs the post, but its answer never reaches the app
      fake.fail('chat.postMessage', { hang: true, apply: true }, 1, (a) => a.channel === 'C0POST');
      expect(await postRun(t.port, secret, 'run', 'C0POST')).toBe(200);
      await waitFor(
        () => fake.hanging === 1 && [...fake.messages.values()].some((m) => m.channel === 'C0POST'),
        'the post to be in flight',
      );
      app.p.kill('SIGKILL');
      await app.exited;
      fake.release();
      const posted = [...fake.messages.values()].filter((m) => m.channel === 'C0POST');
      expect(posted).toHaveLength(1);
      expect(posted[0]?.metadata?.event_type).toBe('readiness_gate_message');

      app = await startServe(t.env);
      const ts = posted[0]?.ts as string;
      await waitFor(
        () => liveButtons(fake.messages.get(ts)?.blocks ?? []).has('signoff_approve_technical'),
        'the posted message to converge',
        90_000,
      );
      expect(topLevelPosts('C0POST')).toHaveLength(1);
      expect(fake.callsOf('conversations.history').some((c) => c.args.channel === 'C0POST')).toBe(true);
      expect((await t.store.latestForRun('run'))?.evaluation.message?.ts).toBe(ts);
      app.p.kill('SIGTERM');
      expect(await app.exited).toBe(0);
    }, 180_000);

    it('SIGTERM with Redis down: the process ends within SHUTDOWN_TIMEOUT_MS + 5 s', async () => {
      const own = await OwnRedis.start();
      onTestFinished(() => own.stop());
      const t = await setup('termdown', { REDIS_URL: own.url, SHUTDOWN_TIMEOUT_MS: '2000' });
      const app = await startServe(t.env);
      // a command taken in just before Redis goes away
      expect(
        await postSigned(
          t.port,
          secret,
          commandBody({ text: 'status', user_id: 'U0REQ', response_url: fake.responseUrl('req') }),
        ),
      ).toBe(200);
      await t.close();
      await own.kill();
      const t0 = Date.now();
      app.p.kill('SIGTERM');
      await app.exited;
      expect(Date.now() - t0).toBeLessThan(2000 + 5000);
      expect(app.out()).toContain('shutting down');
    }, 120_000);

    it('SIGTERM during start-up is not lost: the process stops cleanly once started', async () => {
      // Redis answers only once the signal is in: start-up is still under way when it arrives.
      const proxy = await holdingProxy(Number(new URL(inject('redisUrl')).port));
      onTestFinished(() => proxy.close());
      const t = await setup('termstart');
      const app = await startServe({ ...t.env, REDIS_URL: `redis://127.0.0.1:${proxy.port}` }, { until: '"starting"' });
      app.p.kill('SIGTERM');
      await waitFor(() => app.out().includes('signal received') || null, 'serve to take the signal in', 30_000);
      proxy.release();
      expect(await app.exited).toBe(0);
      expect(app.out()).toContain('shutting down');
      expect(app.out()).not.toContain('Slack app started');
    });
  });
});

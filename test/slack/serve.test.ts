import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../global-setup.js';
import { FakeSlack, waitFor } from '../helpers/fake-slack.js';
import { cleanupRuns, copyExampleRun, REPO_ROOT } from '../helpers/runs.js';
import { commandBody, signedHeaders } from '../helpers/slack-sign.js';
import { WorkerProcess } from '../helpers/workers.js';
import { connectRedis } from '../../src/queue/connection.js';
import { EvaluationStore } from '../../src/store/redis-store.js';

/** `readiness serve --with-workers` as a real process (from dist/: `npx tsc -p .` first). */
describe('readiness serve', () => {
  const fake = new FakeSlack();
  let proc: ChildProcess | undefined;
  let output = '';
  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    await fake.stop();
    await cleanupRuns();
  });

  it('refuses to start without a signing secret or app token, naming the variable', async () => {
    const p = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/readiness.js'), 'serve'], {
      env: { PATH: process.env.PATH, REDIS_URL: inject('redisUrl'), ARTIFACT_ROOT: '/tmp', SLACK_BOT_TOKEN: 'xoxb-1-2' },
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
    proc = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/readiness.js'), 'serve', '--with-workers'], {
      env: {
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
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(() => output.includes('Slack app started'), `the app to start: ${output}`, 30_000);
    // Bolt verified the token against the (fake) Web API at start-up
    expect(fake.callsOf('auth.test').length).toBeGreaterThan(0);
    // secrets never reach the logs
    expect(output).not.toContain('xoxb-serve-test-token');
    expect(output).not.toContain(secret);

    const body = commandBody({ text: 'run run', user_id: 'U0REQ', response_url: fake.responseUrl() });
    const res = await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', headers: signedHeaders(secret, body), body });
    expect(res.status).toBe(200);
    const live = await waitFor(() => [...fake.messages.values()].find((m) => JSON.stringify(m.blocks).includes('signoff_approve_technical')), 'live buttons from the in-process workers', 90_000);
    expect(live.channel).toBe('C0GATE');

    // health and metrics of the app: Redis and Slack auth (auth.test on the fake API) are ready
    await waitFor(() => output.includes('health and metrics listening'), 'the health listener', 10_000);
    const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: [{ name: 'redis', ok: true }, { name: 'slack_auth', ok: true }, { name: 'checks', ok: true }] });
    const metrics = await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
    expect(metrics).toMatch(/readiness_check_duration_seconds_count\{check="export\.parity",status="pass"\} 1/);
    expect(metrics).toMatch(/readiness_queue_jobs\{queue="readiness-light",state="completed"\} \d+/);

    proc.kill('SIGTERM');
    const code = await new Promise((r) => proc?.once('exit', r));
    expect(code).toBe(0);
    expect(output).not.toContain('xoxb-serve-test-token');
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
    const startApp = async (): Promise<{ p: ChildProcess; out: () => string }> => {
      let out = '';
      const p = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/readiness.js'), 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(() => out.includes('Slack app started'), `the app to start: ${out}`, 30_000);
      return { p, out: () => out };
    };
    fake.reset();
    const first = await startApp();
    proc = first.p;
    const body = commandBody({ text: 'run run', user_id: 'U0REQ', channel_id: 'C0KILL', response_url: fake.responseUrl() });
    expect((await fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', headers: signedHeaders(secret, body), body })).status).toBe(200);
    const posted = await waitFor(() => [...fake.messages.values()].find((m) => m.channel === 'C0KILL'), 'the gate message');
    expect(JSON.stringify(posted.blocks)).not.toContain('signoff_approve_technical');
    // kill after the message ref is stored (a kill between post and store would repost: a known window)
    const redis = await connectRedis(inject('redisUrl'));
    const store = new EvaluationStore(redis, { prefix });
    await waitFor(async () => (await store.latestForRun('run'))?.evaluation.message?.ts === posted.ts, 'the stored message ref');
    redis.disconnect();
    first.p.kill('SIGKILL');
    await new Promise((r) => first.p.once('exit', r));

    // the checks finish while no app runs
    const worker = await new WorkerProcess({ redisUrl: inject('redisUrl'), prefix, artifactRoot: root }).ready();
    try {
      const second = await startApp();
      proc = second.p;
      const final = await waitFor(() => {
        const m = fake.messages.get(posted.ts);
        return m && JSON.stringify(m.blocks).includes('signoff_approve_technical') ? m : null;
      }, 'the final state after the restart', 90_000);
      expect(final.updates).toBeGreaterThan(0);
      expect(fake.callsOf('chat.postMessage').filter((c) => c.args.channel === 'C0KILL')).toHaveLength(1);
      second.p.kill('SIGTERM');
      expect(await new Promise((r) => second.p.once('exit', r))).toBe(0);
    } finally {
      await worker.stop();
    }
  });
});

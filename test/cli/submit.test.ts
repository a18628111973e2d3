import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../global-setup.js';
import { comparable } from '../helpers/compare.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN, mutateText, REPO_ROOT } from '../helpers/runs.js';
import { uniquePrefix } from '../helpers/store.js';
import { waitFor } from '../helpers/wait.js';
import { reportSchemaErrors } from '../report/reports.js';

const BIN = path.join(REPO_ROOT, 'bin/readiness.js');
const artifactRoot = path.dirname(EXAMPLE_RUN);
const prefix = uniquePrefix('cli');

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      cwd: artifactRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Text report with measured durations and rates blanked. */
function untimedText(s: string): string {
  return s.replace(/\d+(?:\.\d+)?(?= ?(?:ms|s\b|samples\/s))/g, '<n>');
}

let env: Record<string, string>;
let worker: ReturnType<typeof spawn>;
let workerOutput = '';

beforeAll(async () => {
  if (!existsSync(path.join(REPO_ROOT, 'dist/src/cli/commands/submit.js')))
    throw new Error('build first: npx tsc -p .');
  env = { REDIS_URL: inject('redisUrl'), REDIS_PREFIX: prefix, ARTIFACT_ROOT: artifactRoot, LOG_LEVEL: 'info' };
  // The real `readiness worker` command.
  worker = spawn(process.execPath, [BIN, 'worker', '--queues', 'light,heavy'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  worker.stdout?.on('data', (d: Buffer) => (workerOutput += d.toString()));
  worker.stderr?.on('data', (d: Buffer) => (workerOutput += d.toString()));
  await waitFor(
    () => workerOutput.includes('worker started'),
    () => workerOutput,
    30_000,
  );
});

afterAll(async () => {
  const exited = new Promise((r) => worker.once('exit', r));
  worker.kill('SIGTERM');
  await exited;
});

describe('readiness submit', () => {
  it('--wait prints what `readiness check` prints for the run, with the same exit code', async () => {
    const [submitted, checked] = [
      await cli(['submit', 'digits-run', '--wait', '--quiet'], env),
      await cli(['check', 'digits-run', '--quiet']),
    ];
    expect(checked.code).toBe(0);
    expect(submitted.code).toBe(checked.code);
    expect(untimedText(submitted.stdout)).toBe(untimedText(checked.stdout));
  });

  it('a blocked gate exits 1 like check, with the same statuses and numbers (json)', async () => {
    const submitted = await cli(
      ['submit', 'digits-run', '--wait', '--quiet', '--target', '99.5', '--format', 'json'],
      env,
    );
    const checked = await cli(['check', 'digits-run', '--quiet', '--target', '99.5', '--format', 'json']);
    expect(checked.code).toBe(1);
    expect(submitted.code).toBe(1);
    const a = JSON.parse(submitted.stdout) as { checks: never[]; gate: string; digest: string };
    expect(await reportSchemaErrors(JSON.parse(submitted.stdout))).toEqual([]);
    const b = JSON.parse(checked.stdout) as { checks: never[]; gate: string; digest: string };
    expect(a.gate).toBe('blocked');
    expect([a.gate, a.digest]).toEqual([b.gate, b.digest]);
    expect(comparable(a.checks)).toEqual(comparable(b.checks));
  });

  it('without --wait prints the evaluation id; status shows it', async () => {
    const submitted = await cli(['submit', 'digits-run', '--quiet'], env);
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.trim();
    expect(id).toMatch(/^ev-[a-z0-9]+-[0-9a-f]+$/);
    const status = await cli(['status', id], env);
    expect(status.code).toBe(0);
    expect(status.stderr).toContain(`evaluation ${id} · run digits-run`);
    expect(status.stdout).toContain('Production readiness: Digits Classifier v1.0.0');
    const statusJson = await cli(['status', id, '--format', 'json'], env);
    expect(await reportSchemaErrors(JSON.parse(statusJson.stdout))).toEqual([]);
    const missing = await cli(['status', 'ev-nothing-here'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no evaluation "ev-nothing-here"/);
  });

  it('refuses a run name that leaves ARTIFACT_ROOT (exit 2)', async () => {
    const r = await cli(['submit', '../examples/digits-run'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/readiness: run name "..\/examples\/digits-run" contains ".."/);
  });

  it('Redis unreachable: a clear error naming REDIS_URL, exit 2', async () => {
    const port = await freePort();
    const r = await cli(['submit', 'digits-run', '--wait'], { ...env, REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`readiness: cannot reach Redis at redis://127.0.0.1:${port} \\(REDIS_URL\\): .*ECONNREFUSED`),
    );
  });

  it('missing configuration names the variable, exit 2', async () => {
    const r = await cli(['submit', 'digits-run'], { ARTIFACT_ROOT: artifactRoot });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/REDIS_URL is not set; expected a redis:\/\/ URL/);
  });

  it('--rerun <check> runs that check again in the current evaluation, on the workers', async () => {
    expect((await cli(['submit', 'digits-run', '--wait', '--quiet'], env)).code).toBe(0);
    const id = /evaluation (\S+) · run digits-run/.exec((await cli(['status', 'digits-run'], env)).stderr)?.[1];
    expect(id).toBeDefined();
    const rerun = await cli(['submit', 'digits-run', '--rerun', 'test.target', '--wait', '--format', 'json'], env);
    expect(rerun.stderr).not.toMatch(/unexpected error/);
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toContain(`test.target runs again on the same artifacts (evaluation ${id})`);
    expect((JSON.parse(rerun.stdout) as { gate: string }).gate).toBe('pending');
    const audit = await cli(['audit', id as string], env);
    const entries = audit.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; check: string | null; actor: string | null });
    expect(entries.filter((e) => e.kind === 'check_rerun').map((e) => [e.check, e.actor?.startsWith('cli:')])).toEqual([
      ['test.target', true],
    ]);
    // the same evaluation: its test.target result was applied twice (first run and rerun)
    expect(entries.filter((e) => e.kind === 'check_result' && e.check === 'test.target')).toHaveLength(2);
  });
});

describe('readiness submit --rerun (no workers)', () => {
  let runEnv: Record<string, string>;
  let run: string;

  beforeAll(async () => {
    const dir = await copyExampleRun();
    run = path.basename(dir);
    runEnv = { ...env, REDIS_PREFIX: uniquePrefix('cli-rerun'), ARTIFACT_ROOT: path.dirname(dir) };
  });
  afterAll(cleanupRuns);

  it('says a check still queued is busy, and evaluates afresh once the files changed', async () => {
    const first = await cli(['submit', run, '--quiet'], runEnv);
    expect(first.code).toBe(0);
    const id = first.stdout.trim();
    const busy = await cli(['submit', run, '--rerun', 'test.target'], runEnv);
    expect(busy.code).toBe(0);
    expect(busy.stdout.trim()).toBe(id);
    expect(busy.stderr).toContain(`test.target is still pending or running in evaluation ${id}; nothing to rerun yet`);

    await mutateText(path.join(runEnv.ARTIFACT_ROOT as string, run), 'final_report.md', (t) => `${t}\n`);
    const changed = await cli(['submit', run, '--rerun', 'test.target'], runEnv);
    expect(changed.code).toBe(0);
    const next = changed.stdout.trim();
    expect(next).toMatch(/^ev-/);
    expect(next).not.toBe(id);
    expect(changed.stderr).toContain(
      `a new evaluation ${next} of ${run} was created (the run's files changed since evaluation ${id})`,
    );
    const status = await cli(['status', id], runEnv);
    expect(status.stderr).toContain(`SUPERSEDED by ${next}`);
  });

  it('refuses an unknown check id, and --target or --policy with --rerun (exit 2)', async () => {
    const unknown = await cli(['submit', run, '--rerun', 'no.such_check'], runEnv);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('readiness: unknown check id "no.such_check"');
    const withTarget = await cli(['submit', run, '--rerun', 'test.target', '--target', '90'], runEnv);
    expect(withTarget.code).toBe(2);
    expect(withTarget.stderr).toMatch(/--rerun runs a check under the current evaluation's own policy/);
  });
});

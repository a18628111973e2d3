import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN, REPO_ROOT } from '../helpers/runs.js';

afterAll(cleanupRuns);

// biome-ignore lint/suspicious/noControlCharactersInRegex: an ANSI colour escape starts with ESC
const ANSI = /\x1b\[[0-9;]*m/;
const visible = (s: string) => [...s.replace(new RegExp(ANSI.source, 'g'), '').replace(/\uFE0F/g, '')].length;

describe('readiness check reads at a glance', () => {
  it('a passing run prints at most 30 lines, one per item, none wider than 100 columns; --verbose shows every item with evidence', async () => {
    const r = await runCli(['check', EXAMPLE_RUN, '--quiet'], { env: { NO_COLOR: '', FORCE_COLOR: '', COLUMNS: '' } });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(30);
    expect(Math.max(...lines.map(visible))).toBeLessThanOrEqual(100);
    expect(r.stdout).not.toMatch(ANSI);
    expect(r.stdout).toMatch(
      /^Gate ⏳ PENDING: 20 passed, 0 warnings, 0 failed; sign-offs pending: technical, product, compliance$/m,
    );
    expect(r.stdout).not.toContain('HEAVY CHECKS NOT RUN');
    // with its progress, as a CI log shows both streams: the heavy checks' progress every 25 %
    // and their results, not the passing light checks again
    const logged = await runCli(['check', EXAMPLE_RUN], { env: { NO_COLOR: '', FORCE_COLOR: '', COLUMNS: '' } });
    expect(logged.code).toBe(0);
    expect(logged.stderr).toMatch(/^\[9\/20\] export\.parity: parity 53 % \(192\/360\)$/m);
    expect(logged.stderr).toMatch(/^\[10\/20\] export\.inference: pass \(\d+ ms\)$/m);
    expect(logged.stderr).not.toMatch(/training\.completed: pass/);
    expect(`${logged.stdout}${logged.stderr}`.trimEnd().split('\n').length).toBeLessThanOrEqual(45);
    const v = await runCli(['check', EXAMPLE_RUN, '--quiet', '--verbose']);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('== Training Completion ==');
    expect(v.stdout).toContain('     Test Accuracy: 99.2% (results/production/test_results.md:10)');
    expect(v.stdout).toMatch(/^ {5}ONNX accuracy: 99\.17% \(357\/360 correct on the test set\)$/m);
    expect(v.stdout).toMatch(/^Outstanding: signoff\.technical, signoff\.product, signoff\.compliance$/m);
  });

  it('wraps at COLUMNS keeping each line\u2019s indent', async () => {
    const r = await runCli(['check', EXAMPLE_RUN, '--quiet', '--skip-heavy', '--target', '99.5'], {
      env: { COLUMNS: '60' },
    });
    const lines = r.stdout.trimEnd().split('\n');
    expect(Math.max(...lines.map(visible))).toBeLessThanOrEqual(60);
    // the remediation of test.target wraps under its own text, the skipped item under its title
    const arrow = lines.findIndex((l) => l.startsWith('     → If test_acc < target'));
    expect(arrow).toBeGreaterThan(0);
    expect(lines[arrow + 1]).toMatch(/^ {7}\S/);
    const parity = lines.findIndex((l) => l.startsWith('⏳ export.parity'));
    const col = lines[parity]!.indexOf('Exported');
    expect(lines[parity + 1]).toMatch(new RegExp(`^ {${col + 1}}\\S`));
  });

  it('colour: on with FORCE_COLOR, off with NO_COLOR (which wins), off when stdout is not a terminal', async () => {
    const forced = await runCli(['check', EXAMPLE_RUN, '--quiet', '--skip-heavy', '--allow-skipped-heavy'], {
      env: { FORCE_COLOR: '1', NO_COLOR: '' },
    });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the colour escapes are what is tested
    expect(forced.stdout).toMatch(/\x1b\[32m✅ test\.target +\x1b\[0m/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the colour escapes are what is tested
    expect(forced.stdout).toMatch(/\x1b\[33mGate ⏳ PENDING\x1b\[0m/);
    const no = await runCli(['check', EXAMPLE_RUN, '--quiet', '--skip-heavy', '--allow-skipped-heavy'], {
      env: { FORCE_COLOR: '1', NO_COLOR: '1' },
    });
    expect(no.stdout).not.toMatch(ANSI);
    const zero = await runCli(['check', EXAMPLE_RUN, '--quiet', '--skip-heavy', '--allow-skipped-heavy'], {
      env: { FORCE_COLOR: '0', NO_COLOR: '' },
    });
    expect(zero.stdout).not.toMatch(ANSI);
  });

  it('--help wraps at the terminal width between words', async () => {
    const r = await runCli(['check', '--help'], { env: { COLUMNS: '60' } });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(Math.max(...lines.map(visible))).toBeLessThanOrEqual(60);
    expect(lines.length).toBeGreaterThan(20);
    // every description reads whole once the wrapped lines are joined: no word was cut
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(
      'do not run the heavy checks (ONNX parity, latency): the gate stays pending and the exit code is 3',
    );
    const top = await runCli(['--help'], { env: { COLUMNS: '80' } });
    expect(Math.max(...top.stdout.trimEnd().split('\n').map(visible))).toBeLessThanOrEqual(80);
  });

  it('in a real terminal (a pty): colour unless NO_COLOR, wrapped at the terminal\u2019s own width', async () => {
    // util-linux `script` gives the CLI a pseudo-terminal of 60 columns as its stdout
    const inTerminal = (env: Record<string, string>) =>
      new Promise<string>((resolve, reject) => {
        const cmd = `stty cols 60 rows 50; exec node bin/readiness.js check ${EXAMPLE_RUN} --skip-heavy --allow-skipped-heavy --quiet`;
        const child = spawn('script', ['-qec', cmd, '/dev/null'], {
          cwd: REPO_ROOT,
          env: { ...process.env, TERM: 'xterm', COLUMNS: '', FORCE_COLOR: '', NO_COLOR: '', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('close', (code) =>
          code === 0 ? resolve(out.replace(/\r\n/g, '\n')) : reject(new Error(`exit ${code}: ${out}`)),
        );
      });
    const coloured = await inTerminal({});
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the colour escapes are what is tested
    expect(coloured).toMatch(/\x1b\[32m✅ test\.target +\x1b\[0m/);
    const lines = coloured.trimEnd().split('\n');
    expect(Math.max(...lines.map(visible))).toBeLessThanOrEqual(60);
    expect(Math.max(...lines.map(visible))).toBeGreaterThan(50);
    const plain = await inTerminal({ NO_COLOR: '1' });
    expect(plain).toContain('✅ test.target');
    expect(plain).not.toMatch(ANSI);
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runCli(['--version']);
    expect([r.code, r.stdout.trim()]).toEqual([0, pkg.version]);
  });

  it.each([
    [['check'], /^error: missing required argument 'run-dir'\n\(readiness check --help lists the options\)\n$/],
    [
      ['check', EXAMPLE_RUN, '--format', 'xml'],
      /Allowed choices are text, json, junit, markdown\.\n\(readiness check --help lists the options\)\n$/,
    ],
    [['check', EXAMPLE_RUN, '--junit-warnings-as', 'ignored'], /Allowed choices are failures, skipped, passed/],
    [['frobnicate'], /^error: unknown command 'frobnicate'\n\(readiness --help lists the options\)\n$/],
  ])('usage error %j: exit 2, a short message and a hint, not the whole help', async (args, message) => {
    const r = await runCli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain('Options:');
  });

  it('--target as a fraction is read by the artifacts\u2019 rule, and said; 85% stays a percent', async () => {
    const frac = await runCli(['check', EXAMPLE_RUN, '--skip-heavy', '--target', '0.9', '--format', 'json', '--quiet']);
    expect(frac.stderr).toMatch(/--target 0\.9 read as a fraction: 90% \(write 0\.9% for 0\.9 percent\)/);
    expect(
      (JSON.parse(frac.stdout) as { policy: { effective: { target_accuracy: number } } }).policy.effective
        .target_accuracy,
    ).toBe(90);
    const pct = await runCli(['check', EXAMPLE_RUN, '--skip-heavy', '--target', '85%', '--format', 'json', '--quiet']);
    expect(pct.stderr).not.toMatch(/fraction/);
    expect(
      (JSON.parse(pct.stdout) as { policy: { effective: { target_accuracy: number } } }).policy.effective
        .target_accuracy,
    ).toBe(85);
  });

  it('--output into a missing folder is refused before any check runs (exit 2)', async () => {
    const r = await runCli(['check', EXAMPLE_RUN, '--format', 'junit', '--output', '/missing/dir/x.xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('readiness: --output /missing/dir/x.xml: the folder /missing/dir does not exist\n');
    const run = await copyExampleRun();
    const dir = await runCli(['check', EXAMPLE_RUN, '--output', path.dirname(run)]);
    expect(dir.code).toBe(2);
    expect(dir.stderr).toMatch(/is a folder; give a file name/);
  });

  it.each([[['status', 'digits-run']], [['submit', 'digits-run', '--wait']], [['attestation', 'digits-run']]])(
    '%j --output into a missing folder is refused first, before the store is reached (exit 2)',
    async (args) => {
      const r = await runCli([...args, '--output', '/missing/dir/x.out'], {
        env: { REDIS_URL: 'redis://127.0.0.1:1', ARTIFACT_ROOT: REPO_ROOT },
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('readiness: --output /missing/dir/x.out: the folder /missing/dir does not exist\n');
    },
  );

  it('a text report written with --output has no colour even when stdout has', async () => {
    const run = await copyExampleRun();
    const out = path.join(path.dirname(run), 'report.txt');
    const r = await runCli(['check', run, '--skip-heavy', '--allow-skipped-heavy', '--quiet', '--output', out], {
      env: { FORCE_COLOR: '1' },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(ANSI);
    expect(await readFile(out, 'utf8')).not.toMatch(ANSI);
  });

  it('serve stops at once (exit 2) when READINESS_CONFIG is missing, or a folder as Docker makes of a missing bind-mounted file', async () => {
    const run = await copyExampleRun();
    const folder = path.join(path.dirname(run), 'readiness.yml');
    await mkdir(folder);
    const env = {
      REDIS_URL: 'redis://127.0.0.1:1',
      ARTIFACT_ROOT: path.dirname(run),
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: '0123456789abcdef0123456789abcdef',
      SLACK_APP_TOKEN: '',
      LOG_LEVEL: 'silent',
    };
    const dir = await runCli(['serve'], { env: { ...env, READINESS_CONFIG: folder } });
    expect(dir.code).toBe(2);
    expect(dir.stderr).toContain(`readiness: READINESS_CONFIG ${folder} is a folder, not a YAML file`);
    expect(dir.stderr).toContain('create the file, e.g. from config/readiness.example.yml');
    // the config is read before Redis is reached: its error, not a connection error
    expect(dir.stderr).not.toMatch(/Redis/);
    const missing = await runCli(['serve'], { env: { ...env, READINESS_CONFIG: `${folder}.absent` } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/READINESS_CONFIG \S+readiness\.yml\.absent cannot be read: ENOENT/);
  });
});

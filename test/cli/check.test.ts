import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { runCli } from '../helpers/cli.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN, mutateText } from '../helpers/runs.js';
import { JENKINS_XSD, SUREFIRE_XSD, xmllint } from '../report/reports.js';

afterAll(cleanupRuns);

const ALL_IDS = [...AUTOMATED_CHECKS.map((c) => c.id), 'signoff.technical', 'signoff.product', 'signoff.compliance'];

describe('readiness check', () => {
  it('prints one line per item for the example run; --skip-heavy says loudly what did not run and exits 3', async () => {
    const r = await runCli(['check', EXAMPLE_RUN, '--skip-heavy']);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('Production readiness: Digits Classifier v1.0.0 · run ');
    for (const id of ALL_IDS) expect(r.stdout).toMatch(new RegExp(`^(✅|⏳) ${id.replace('.', '\\.')} +\\S`, 'm'));
    expect(r.stdout).toMatch(/^✅ test\.target +Test accuracy meets or exceeds target$/m);
    expect(r.stdout).toMatch(/^⚠️ {2}HEAVY CHECKS NOT RUN: export\.parity, export\.inference/m);
    expect(r.stdout).toMatch(
      /Gate ⏳ PENDING: 18 passed, 0 warnings, 0 failed, 2 not run yet; sign-offs pending: technical,\s+product, compliance/,
    );
    expect(r.stdout).toMatch(
      /^⏳ signoff\.technical +Technical lead approves deployment — awaiting approval in Slack$/m,
    );
    // passing items show no evidence by default
    expect(r.stdout).not.toContain('results/production/test_results.md:10');
    expect(r.stderr).toMatch(/exit 3: heavy checks did not run \(--skip-heavy\)/);
    // Progress goes to stderr; in a non-terminal it does not repeat the checks that passed.
    expect(r.stderr).toContain('hashing artifacts 100 %');
    expect(r.stderr).not.toMatch(/training\.completed: pass/);
    const allowed = await runCli(['check', EXAMPLE_RUN, '--skip-heavy', '--allow-skipped-heavy', '--quiet']);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain('HEAVY CHECKS NOT RUN');
  });

  it('exits 1 and names the failing item with its evidence and remediation when the gate is blocked', async () => {
    const r = await runCli(['check', EXAMPLE_RUN, '--skip-heavy', '--target', '99.5']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^❌ test\.target +Test accuracy meets or exceeds target$/m);
    expect(r.stdout).toMatch(
      /^ {5}Test accuracy 99\.2% \(results\/production\/test_results\.md line 10\) < target 99\.5%$/m,
    );
    expect(r.stdout).toMatch(/^ {5}→ If test_acc < target/m);
    expect(r.stdout).toContain('Gate ❌ BLOCKED');
    expect(r.stdout).toMatch(/Blocking: .*test\.target/);
    // a check that did not pass is in the progress of a non-terminal too, numbered
    expect(r.stderr).toMatch(/^\[5\/\d+\] test\.target: fail \(\d+ ms\)$/m);
  });

  it('blocks on a defect in the artifacts (no "Training complete")', async () => {
    const run = await copyExampleRun();
    await mutateText(run, 'results/production/training.log', (t) => t.replace(/Training complete.*\n?/, ''));
    const r = await runCli(['check', run, '--skip-heavy', '--format', 'json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { gate: string; checks: { id: string; status: string; evidence: string[] }[] };
    expect(j.gate).toBe('blocked');
    const c = j.checks.find((x) => x.id === 'training.completed')!;
    expect(c.status).toBe('fail');
    expect(c.evidence.join('\n')).toMatch(/no "Training complete" line/);
  });

  it('--format json gives run, gate, digest, policy and every check with its fields', async () => {
    const r = await runCli([
      'check',
      EXAMPLE_RUN,
      '--skip-heavy',
      '--allow-skipped-heavy',
      '--format',
      'json',
      '--quiet',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout) as Record<string, unknown> & {
      checks: Record<string, unknown>[];
      policy: { digest: string; effective: { target_accuracy: number } };
    };
    expect(j.run).toBe(EXAMPLE_RUN);
    expect(j.gate).toBe('pending');
    expect(j.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(j.policy.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(j.policy.effective.target_accuracy).toBe(80);
    expect(j.checks.map((c) => c.id)).toEqual(ALL_IDS);
    for (const c of j.checks) {
      expect(Object.keys(c)).toEqual(
        expect.arrayContaining([
          'id',
          'category',
          'title',
          'status',
          'evidence',
          'metrics',
          'remediation',
          'duration_ms',
        ]),
      );
    }
    const target = j.checks.find((c) => c.id === 'test.target')!;
    expect(target.metrics).toMatchObject({ test_accuracy: 99.2, target: 80 });
  });

  it('--format junit writes JUnit XML that Jenkins xunit and Surefire accept, one testcase per check', async () => {
    const r = await runCli(['check', EXAMPLE_RUN, '--skip-heavy', '--target', '99.5', '--format', 'junit', '--quiet']);
    expect(r.code).toBe(1);
    expect(XMLValidator.validate(r.stdout)).toBe(true);
    for (const xsd of [JENKINS_XSD, SUREFIRE_XSD]) expect(xmllint(r.stdout, xsd).output).toMatch(/validates/);
    const doc = new XMLParser({ ignoreAttributes: false }).parse(r.stdout) as {
      testsuite: { '@_failures': string; testcase: { '@_name': string; failure?: unknown; skipped?: unknown }[] };
    };
    const cases = doc.testsuite.testcase;
    expect(cases.map((c) => c['@_name'])).toEqual(ALL_IDS);
    const failing = cases.filter((c) => c.failure !== undefined).map((c) => c['@_name']);
    expect(failing).toEqual(['test.target']);
    expect(Number(doc.testsuite['@_failures'])).toBe(1);
    expect(cases.find((c) => c['@_name'] === 'signoff.technical')?.skipped).toBeDefined();
  });

  it('--format markdown with --output writes the report file and prints the checklist', async () => {
    const run = await copyExampleRun();
    const out = path.join(path.dirname(run), 'report.md');
    const r = await runCli(['check', run, '--skip-heavy', '--format', 'markdown', '--output', out, '--quiet']);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('Production readiness: Digits Classifier v1.0.0');
    const md = await readFile(out, 'utf8');
    expect(md).toContain('# Production Readiness — Digits Classifier v1.0.0');
    expect(md).toContain('## Final Sign-Off');
    expect(md).toContain('**Test Accuracy**: 99.2%');
    expect(md).toContain('**Target Met**: Yes');
    expect(md).toContain('- Technical Lead: _pending_');
    expect(md).toMatch(/\| `results\/production\/metrics\.json` \| \d+ \| `[0-9a-f]{64}` \|/);
  });

  it('applies a policy file and the run readiness.yml', async () => {
    const run = await copyExampleRun();
    const policy = path.join(path.dirname(run), 'team.yml');
    await writeFile(policy, 'name: strict-team\ntarget_accuracy: 99.9\n');
    const r = await runCli(['check', run, '--skip-heavy', '--policy', policy, '--format', 'json', '--quiet']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { policy: { name: string; sources: string[] } };
    expect(j.policy.name).toBe('strict-team');
    expect(j.policy.sources).toEqual(['defaults', policy, 'readiness.yml']);
  });

  // /dev/full: writable, and every write fails with ENOSPC (a plain error, not a gate error)
  it.skipIf(!existsSync('/dev/full'))(
    'a non-gate exception (the report cannot be written: ENOSPC) exits 2 with its message, never 0',
    async () => {
      const r = await runCli([
        'check',
        EXAMPLE_RUN,
        '--skip-heavy',
        '--allow-skipped-heavy',
        '--quiet',
        '--format',
        'json',
        '--output',
        '/dev/full',
      ]);
      expect(r.stderr).toMatch(/^readiness: unexpected error: ENOSPC: no space left on device/m);
      expect(r.code).toBe(2);
    },
  );

  describe('usage and configuration errors exit 2 with a message naming what is wrong', () => {
    it.each([
      [['check'], /missing required argument 'run-dir'/],
      [
        ['check', EXAMPLE_RUN, '--target', 'abc'],
        /expected a percentage \(85, 85%\) or a fraction \(0\.85\), got "abc"/,
      ],
      [['check', EXAMPLE_RUN, '--target', '101'], /expected a percentage/],
      [['check', EXAMPLE_RUN, '--target', '-1'], /expected a percentage/],
      [['check', EXAMPLE_RUN, '--format', 'xml'], /Allowed choices are text, json, junit, markdown/],
      [['check', '/nonexistent/run'], /run folder \/nonexistent\/run does not exist/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ])('%j', async (args, message) => {
      const r = await runCli(args as string[]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    });

    it('a bad policy file', async () => {
      const run = await copyExampleRun();
      const policy = path.join(path.dirname(run), 'bad.yml');
      await writeFile(policy, 'per_class:\n  min_f1: high\n');
      const r = await runCli(['check', run, '--policy', policy]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/bad\.yml: per_class\.min_f1: .*expected number/i);
    });

    it('a bad readiness.yml in the run', async () => {
      const run = await copyExampleRun();
      await writeFile(path.join(run, 'readiness.yml'), 'target_accuracy: eighty\n');
      const r = await runCli(['check', run]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/readiness\.yml: target_accuracy/);
    });
  });

  it('--help exits 0', async () => {
    const r = await runCli(['check', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--skip-heavy');
  });
});

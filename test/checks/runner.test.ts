import { describe, expect, it } from 'vitest';
import { RunArtifacts } from '../../src/artifacts/run.js';
import { defineCheck, pass } from '../../src/checks/define.js';
import { AUTOMATED_CHECKS, CHECK_IDS } from '../../src/checks/registry.js';
import { runCheck, runChecks } from '../../src/checks/runner.js';
import { GateError } from '../../src/errors.js';
import { DEFAULT_POLICY } from '../../src/policy/schema.js';
import { EXAMPLE_RUN } from '../helpers/runs.js';

const def = (id: string, run: () => Promise<never> | Promise<ReturnType<typeof pass>>, heavy = false) =>
  defineCheck({ id, category: 'test', title: `title ${id}`, heavy, remediation: `fix ${id}`, run });

describe('runCheck', () => {
  it('a light check still running at limits.check_timeout_s.light ends as error "exceeded N s"; its signal is aborted', async () => {
    const run = await RunArtifacts.open(EXAMPLE_RUN);
    const policy = {
      ...DEFAULT_POLICY,
      limits: { ...DEFAULT_POLICY.limits, check_timeout_s: { light: 0.05, heavy: 900 } },
    };
    let aborted: unknown = null;
    let lingering: Promise<unknown> | null = null;
    const stuck = def('x.stuck', (async () => {
      // ignores nothing: it notices the abort, but only stops a while later
      await new Promise<void>(() => undefined);
      return pass([]);
    }) as () => Promise<ReturnType<typeof pass>>);
    const watching = {
      ...stuck,
      run: (ctx: Parameters<typeof stuck.run>[0]) => {
        ctx.signal?.addEventListener('abort', () => {
          aborted = ctx.signal?.reason;
        });
        return stuck.run(ctx);
      },
    };
    const r = await runCheck(watching, { run, policy }, { onAbandoned: (p) => (lingering = p) });
    expect(r).toMatchObject({
      id: 'x.stuck',
      status: 'error',
      evidence: [
        'x.stuck exceeded 0.05 s (limits.check_timeout_s.light); the check was abandoned and the queue moved on',
      ],
      metrics: { limit_exceeded: 'time', limit: 0.05 },
    });
    expect(r.remediation).toMatch(/raise limits\.check_timeout_s\.light/);
    expect(String(aborted)).toMatch(/exceeded 0\.05 s/);
    expect(lingering).not.toBeNull();
  });

  it('a check that finishes within its limit is not touched by it', async () => {
    const run = await RunArtifacts.open(EXAMPLE_RUN);
    const policy = {
      ...DEFAULT_POLICY,
      limits: { ...DEFAULT_POLICY.limits, check_timeout_s: { light: 5, heavy: 900 } },
    };
    const r = await runCheck(
      def('x.quick', async () => pass(['ok'])),
      { run, policy },
    );
    expect(r).toMatchObject({ status: 'pass', evidence: ['ok'] });
  });

  it('turns a crash into an error result with the remediation, never a throw', async () => {
    const run = await RunArtifacts.open(EXAMPLE_RUN);
    const r = await runCheck(
      def('x.crash', async () => {
        throw new TypeError('boom');
      }),
      { run, policy: DEFAULT_POLICY },
    );
    expect(r).toMatchObject({
      id: 'x.crash',
      status: 'error',
      evidence: ['check crashed: boom'],
      remediation: 'fix x.crash',
    });
  });

  it('turns hostile input into a security failure', async () => {
    const run = await RunArtifacts.open(EXAMPLE_RUN);
    const r = await runCheck(
      def('x.hostile', async () => {
        throw new GateError('PATH_ESCAPE', 'a.md points outside', { hostile: true });
      }),
      { run, policy: DEFAULT_POLICY },
    );
    expect(r).toMatchObject({ status: 'fail', security: true, evidence: ['security finding: a.md points outside'] });
  });

  it('reports an unreadable artifact as error with the message', async () => {
    const run = await RunArtifacts.open(EXAMPLE_RUN);
    const r = await runCheck(
      def('x.missing', () => run.readText('nope.md').then(() => pass([]))),
      { run, policy: DEFAULT_POLICY },
    );
    expect(r.status).toBe('error');
    expect(r.evidence[0]).toMatch(/nope\.md not found/);
  });

  it('passes carry no remediation and a measured duration', async () => {
    const run = await RunArtifacts.open(EXAMPLE_RUN);
    const clock = [1000, 1250.12345];
    const r = await runCheck(
      def('x.ok', async () => pass(['fine'])),
      { run, policy: DEFAULT_POLICY },
      { now: () => clock.shift() ?? Number.NaN },
    );
    expect(r.remediation).toBeNull();
    // from start to end of the check, to the microsecond
    expect(r.duration_ms).toBe(250.123);
    expect(clock).toEqual([]);
  });
});

describe('runChecks', () => {
  it('skips heavy checks when asked, saying so, and never passes them', async () => {
    const run = await RunArtifacts.open(EXAMPLE_RUN);
    const seen: string[] = [];
    const results = await runChecks(
      [def('a.light', async () => pass(['ok'])), def('b.heavy', async () => pass(['should not run']), true)],
      { run, policy: DEFAULT_POLICY },
      { skipHeavy: true, onResult: (r) => seen.push(r.id) },
    );
    expect(results.map((r) => r.status)).toEqual(['pass', 'skipped']);
    expect(results[1]!.evidence[0]).toMatch(/--skip-heavy/);
    expect(seen).toEqual(['a.light', 'b.heavy']);
  });

  it('runs only the selected checks', async () => {
    const run = await RunArtifacts.open(EXAMPLE_RUN);
    const results = await runChecks(
      [def('a', async () => pass([])), def('b', async () => pass([]))],
      { run, policy: DEFAULT_POLICY },
      { only: ['b'] },
    );
    expect(results.map((r) => r.status)).toEqual(['skipped', 'pass']);
  });
});

describe('registry', () => {
  it('has every check id of the design, once, with the checklist wording', () => {
    expect(CHECK_IDS).toEqual(
      expect.arrayContaining([
        'training.completed',
        'checkpoint.best',
        'checkpoint.last',
        'test.evaluated',
        'test.target',
        'test.val_gap',
        'test.per_class',
        'export.present',
        'export.parity',
        'export.inference',
        'docs.deployment_guide',
        'docs.test_results',
        'docs.model_card',
        'docs.monitoring',
        'repro.documented',
        'repro.env_snapshot',
        'qa.known_issues',
        'qa.code_review',
        'signoff.technical',
        'signoff.product',
        'signoff.compliance',
      ]),
    );
    expect(new Set(CHECK_IDS).size).toBe(CHECK_IDS.length);
    expect(
      AUTOMATED_CHECKS.filter((c) => c.heavy)
        .map((c) => c.id)
        .sort(),
    ).toEqual(['export.inference', 'export.parity']);
    for (const c of AUTOMATED_CHECKS) expect(c.remediation.length).toBeGreaterThan(10);
  });
});

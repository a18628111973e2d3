import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/test-target.js';
import { describeBadDocument, removeFile, replace, runOn, variant, writeRunFile } from '../helpers/check.js';
import { cleanupRuns, copyExampleRun, EXAMPLE_RUN } from '../helpers/runs.js';

const MD = 'results/production/test_results.md';
const METRICS = 'results/production/metrics.json';
/** Rewrites every "Test Accuracy: 99.2%" line of test_results.md (bullet and bold forms). */
const testAcc = (value: string) => replace(/(Test Accuracy\**:\s*)99\.2%/g, `$1${value}`);

afterAll(cleanupRuns);

describe('test.target', () => {
  it('passes on the example run: 99.2% from test_results.md against the default 80% target', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([`Test accuracy 99.2% (${MD} line 10) ≥ target 80%`, 'Margin: +19.2 pp']);
    expect(r.result.metrics).toEqual({ test_accuracy: 99.2, target: 80, margin_pp: 19.2, read_as: 'percent' });
  });

  it('fails below the target (78% < 80%) with the gap', async () => {
    const dir = await variant({ [MD]: testAcc('78.0%') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([`Test accuracy 78% (${MD} line 10) < target 80%`, 'Gap: 2 pp below target']);
    expect(r.result.metrics.margin_pp).toBe(-2);
    expect(r.result.remediation).toContain('Model does not meet requirements, cannot deploy');
  });

  it('fails the example run under a --target 99.5 override', async () => {
    const r = await runOn(EXAMPLE_RUN, check, { flags: { target_accuracy: 99.5 } });
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(`Test accuracy 99.2% (${MD} line 10) < target 99.5%`);
    expect(r.result.evidence[1]).toBe('Gap: 0.3 pp below target');
    expect(r.result.metrics.target).toBe(99.5);
  });

  it('passes at exactly the target (≥, not >)', async () => {
    const r = await runOn(EXAMPLE_RUN, check, { flags: { target_accuracy: 99.2 } });
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([`Test accuracy 99.2% (${MD} line 10) ≥ target 99.2%`, 'Margin: +0 pp']);
  });

  it("takes the target from a policy file layer and from the run's readiness.yml", async () => {
    const r = await runOn(EXAMPLE_RUN, check, {
      policyLayer: { source: 'strict.yml', data: { target_accuracy: 99.9 } },
    });
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toContain('< target 99.9%');

    const dir = await variant({ 'readiness.yml': (t) => `${t}target_accuracy: 99.6\n` });
    const r2 = await runOn(dir, check);
    expect(r2.result.status).toBe('fail');
    expect(r2.result.evidence[0]).toContain('< target 99.6%');
    // flags win over the run's file
    const r3 = await runOn(dir, check, { flags: { target_accuracy: 85 } });
    expect(r3.result.status).toBe('pass');
    expect(r3.result.evidence[0]).toContain('≥ target 85%');
  });

  it('reads 0.992 as a fraction (99.2%) and says so', async () => {
    const dir = await variant({ [MD]: testAcc('0.992') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toBe(`Test accuracy 99.2% (read as fraction 0.992) (${MD} line 10) ≥ target 80%`);
    expect(r.result.metrics.read_as).toBe('fraction');
    expect(r.result.metrics.test_accuracy).toBeCloseTo(99.2, 9);
  });

  it('fails a fraction below the target (0.78 → 78%)', async () => {
    const dir = await variant({ [MD]: testAcc('0.78') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(`Test accuracy 78% (read as fraction 0.78) (${MD} line 10) < target 80%`);
  });

  it('reads "Test Accuracy" from a markdown table', async () => {
    // The other "Test Accuracy" line says the same number: two different values would be ambiguous.
    const dir = await variant({
      [MD]: (t) =>
        replace(
          '- **Test Accuracy**: 99.2%',
          '| Metric | Value |\n|---|---|\n| **Test Accuracy** | 81.5 % |\n',
        )(t).replace('- Test Accuracy: 99.2%', '- Test Accuracy: 81.5%'),
    });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toBe(`Test accuracy 81.5% (${MD} line 12) ≥ target 80%`);
  });

  it('falls back to metrics.json test_acc (99.1667) when test_results.md has no Test Accuracy line', async () => {
    const dir = await variant({ [MD]: replace(/^.*Test Accuracy.*\n/gm, '') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toBe(`Test accuracy 99.1667% (${METRICS} test_acc line 10) ≥ target 80%`);
    expect(r.result.evidence[2]).toBe(
      `no "Test Accuracy" line in ${MD} (missing, empty or without it); used ${METRICS}`,
    );
    expect(r.result.metrics.test_accuracy).toBe(99.1667);
  });

  it('fails when no test accuracy is written anywhere', async () => {
    const dir = await variant({ [MD]: replace(/^.*Test Accuracy.*\n/gm, '') });
    await removeFile(dir, METRICS);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `no test accuracy found in ${MD} ("Test Accuracy: 82.8%") or ${METRICS} (test_acc)`,
    );
  });

  it('ignores an out-of-range accuracy (182%) and uses the next source', async () => {
    const dir = await variant({ [MD]: testAcc('182%') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toContain(`(${METRICS} test_acc line 10)`);
  });

  it('falls back to metrics.json when test_results.md is empty', async () => {
    const dir = await copyExampleRun();
    await writeRunFile(dir, MD, '');
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toContain(`(${METRICS} test_acc line 10)`);
  });

  describeBadDocument(check, MD, {
    missing: { status: 'pass', text: `Test accuracy 99.1667% (${METRICS} test_acc line 10) ≥ target 80%` },
    empty: { status: 'pass', text: `(${METRICS} test_acc line 10)` },
  });
});

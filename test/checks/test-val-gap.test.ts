import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/test-val-gap.js';
import { describeBadDocument, removeFile, replace, runOn, variant } from '../helpers/check.js';
import { cleanupRuns, EXAMPLE_RUN } from '../helpers/runs.js';

const MD = 'results/production/test_results.md';
const METRICS = 'results/production/metrics.json';
const testAcc = (value: string) => replace(/(Test Accuracy\**:\s*)99\.2%/g, `$1${value}`);
const valAcc = (value: string) => replace('"val_acc": 98.8889,', `"val_acc": ${value},`);

afterAll(cleanupRuns);

describe('test.val_gap', () => {
  it('passes on the example run: val 98.8889 (metrics.json) vs test 99.2 (test_results.md), gap 0.31 pp excellent', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([
      `Val acc 98.8889% (${METRICS} val_acc line 7)`,
      `Test acc 99.2% (${MD} line 10)`,
      'Gap |98.8889 − 99.2| = 0.3111 pp: excellent (excellent < 2, acceptable < 5)',
    ]);
    expect(r.result.metrics).toEqual({
      val_accuracy: 98.8889,
      test_accuracy: 99.2,
      gap_pp: 0.3111,
      grade: 'excellent',
    });
  });

  it('fails a gap ≥ 5 pp (val 98.89, test 92.0) as "too large" with the checklist remediation', async () => {
    const dir = await variant({ [MD]: testAcc('92.0%') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[2]).toBe('Gap |98.8889 − 92| = 6.8889 pp: too large (excellent < 2, acceptable < 5)');
    expect(r.result.metrics.gap_pp).toBe(6.8889);
    expect(r.result.remediation).toContain('Investigate distribution mismatch');
  });

  it('fails at exactly 5 pp (the gap must be < 5)', async () => {
    const dir = await variant({ [METRICS]: valAcc('99.0'), [MD]: testAcc('94.0%') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.metrics.gap_pp).toBe(5);
    expect(r.result.evidence[2]).toBe('Gap |99 − 94| = 5 pp: too large (excellent < 2, acceptable < 5)');
  });

  it('passes 4.9 pp as acceptable and 2.0 pp as acceptable (not excellent)', async () => {
    const dir = await variant({ [METRICS]: valAcc('99.0'), [MD]: testAcc('94.1%') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics.grade).toBe('acceptable');
    expect(r.result.evidence[2]).toContain('= 4.9 pp: acceptable');

    const dir2 = await variant({ [METRICS]: valAcc('99.0'), [MD]: testAcc('97.0%') });
    const r2 = await runOn(dir2, check);
    expect(r2.result.status).toBe('pass');
    expect(r2.result.metrics.grade).toBe('acceptable');
  });

  it('measures the gap in both directions (test above val)', async () => {
    const dir = await variant({ [METRICS]: valAcc('90.0') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[2]).toBe('Gap |90 − 99.2| = 9.2 pp: too large (excellent < 2, acceptable < 5)');
  });

  it('normalises a fraction val_acc (0.988889) against a percent test accuracy and says which it read', async () => {
    const dir = await variant({ [METRICS]: valAcc('0.988889') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toBe(`Val acc 98.8889% (read as fraction 0.988889) (${METRICS} val_acc line 7)`);
    expect(r.result.metrics.gap_pp).toBeCloseTo(0.3111, 4);
    expect(r.result.metrics.grade).toBe('excellent');
  });

  it('a fraction test accuracy (0.90) against a percent val accuracy is a 8.89 pp gap, not 97.99', async () => {
    const dir = await variant({ [MD]: testAcc('0.90') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[1]).toBe(`Test acc 90% (read as fraction 0.90) (${MD} line 10)`);
    expect(r.result.metrics.gap_pp).toBeCloseTo(8.8889, 4);
  });

  it('falls back to "Validation Accuracy" in test_results.md when metrics.json is missing', async () => {
    const dir = await variant();
    await removeFile(dir, METRICS);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toBe(`Val acc 98.9% (${MD} line 20)`);
    expect(r.result.metrics.gap_pp).toBe(0.3);
  });

  it('fails when no validation accuracy is written anywhere', async () => {
    const dir = await variant({ [MD]: replace('- Validation Accuracy: 98.9%\n', '') });
    await removeFile(dir, METRICS);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toContain('cannot compute the gap: missing validation accuracy');
  });

  it('honours a policy max_pp (3) from a policy file', async () => {
    const dir = await variant({ [METRICS]: valAcc('99.0'), [MD]: testAcc('95.5%') });
    const loose = await runOn(dir, check);
    expect(loose.result.status).toBe('pass');
    const strict = await runOn(dir, check, { policyLayer: { source: 'strict.yml', data: { val_gap: { max_pp: 3 } } } });
    expect(strict.result.status).toBe('fail');
    expect(strict.result.evidence[2]).toBe('Gap |99 − 95.5| = 3.5 pp: too large (excellent < 2, acceptable < 3)');
  });

  describeBadDocument(check, MD, {
    missing: { status: 'pass', text: `Test acc 99.1667% (${METRICS} test_acc line 10)` },
    empty: { status: 'pass', text: `Test acc 99.1667% (${METRICS} test_acc line 10)` },
  });
});

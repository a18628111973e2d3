import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/test-evaluated.js';
import { describeBadDocument, replace, runOn, variant } from '../helpers/check.js';
import { cleanupRuns, EXAMPLE_RUN } from '../helpers/runs.js';

const MD = 'results/production/test_results.md';

afterAll(cleanupRuns);

describe('test.evaluated', () => {
  it('passes on the example run with the four metric lines of test_results.md as evidence', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([
      `Test Accuracy: 99.2% (${MD}:10)`,
      `Test F1 (macro): 0.992 (${MD}:11)`,
      `Test Precision (macro): 0.992 (${MD}:12)`,
      `Test Recall (macro): 0.992 (${MD}:13)`,
    ]);
    expect(r.result.metrics).toEqual({ accuracy: 99.2, f1: 0.992, precision: 0.992, recall: 0.992 });
  });

  it.each([
    ['Test F1', '- **Test F1 (macro)**: 0.992\n', 'f1'],
    ['Test Precision', '- **Test Precision (macro)**: 0.992\n', 'precision'],
    ['Test Recall', '- **Test Recall (macro)**: 0.992\n', 'recall'],
  ])('fails when the %s line is missing', async (name, line, key) => {
    const dir = await variant({ [MD]: replace(line, '') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(`${MD} is missing ${name} (no "<metric>: <number>" line or table row found)`);
    expect(r.result.metrics[key]).toBeNull();
    expect(r.result.remediation).toContain('Evaluate the best checkpoint on the held-out test set');
  });

  it('fails when every Test Accuracy line is missing, listing it with the others that are present', async () => {
    const dir = await variant({ [MD]: replace(/^.*Test Accuracy.*\n/gm, '') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toContain(`${MD} is missing Test Accuracy`);
    expect(r.text).toContain(`Test F1 (macro): 0.992 (${MD}:10)`);
    expect(r.result.metrics.accuracy).toBeNull();
  });

  it('fails when a metric has a label but no number ("Test Recall: TBD")', async () => {
    const dir = await variant({ [MD]: replace('- **Test Recall (macro)**: 0.992', '- **Test Recall (macro)**: TBD') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toContain('is missing Test Recall');
  });

  it('reads the metrics from a markdown table instead of bullets', async () => {
    const table = [
      '| Metric | Value |',
      '|---|---|',
      '| Test Accuracy | 99.2% |',
      '| Test F1 (macro) | 0.992 |',
      '| Test Precision (macro) | 0.992 |',
      '| Test Recall (macro) | 0.992 |',
    ].join('\n');
    const dir = await variant({
      [MD]: replace(
        /- \*\*Test Accuracy\*\*: 99\.2%\n- \*\*Test F1 \(macro\)\*\*: 0\.992\n- \*\*Test Precision \(macro\)\*\*: 0\.992\n- \*\*Test Recall \(macro\)\*\*: 0\.992\n/,
        `${table}\n`,
      ),
    });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toBe(`Test Accuracy: 99.2% (${MD}:12)`);
    expect(r.result.evidence[3]).toBe(`Test Recall (macro): 0.992 (${MD}:15)`);
  });

  it('accepts extra whitespace, other label spellings and CRLF line endings', async () => {
    const dir = await variant({
      [MD]: (t) =>
        replace(
          '- **Test Accuracy**: 99.2%',
          '*   **Test Accuracy**   :    99.2 %  ',
        )(t)
          .replace('- **Test F1 (macro)**: 0.992', '- Macro F1-score = 0.992')
          .replace(/\n/g, '\r\n'),
    });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toBe(`Test Accuracy: 99.2 % (${MD}:10)`);
    expect(r.result.evidence[1]).toBe(`Macro F1-score: 0.992 (${MD}:11)`);
  });

  it('records a fraction accuracy as written (0.992)', async () => {
    const dir = await variant({ [MD]: replace('- **Test Accuracy**: 99.2%', '- **Test Accuracy**: 0.992') });
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics.accuracy).toBe(0.992);
    expect(r.result.evidence[0]).toBe(`Test Accuracy: 0.992 (${MD}:10)`);
  });

  describeBadDocument(check, MD, {
    missing: { status: 'fail', text: `${MD} not found: test results are not documented` },
    empty: { status: 'fail', text: `${MD} is empty` },
  });
});

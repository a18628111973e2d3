import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/docs-test-results.js';
import {
  describeBadDocument,
  dropSection,
  emptySection,
  removeFile,
  replace,
  runOn,
  variant,
} from '../helpers/check.js';
import { cleanupRuns, EXAMPLE_RUN } from '../helpers/runs.js';

const MD = 'results/production/test_results.md';
const PNG = 'results/production/confusion_matrix.png';
/** The policy's required names and the headings the example uses for them. */
const SECTIONS: [string, string][] = [
  ['Performance Metrics', 'Performance Metrics'],
  ['Validation vs Test', 'Validation vs Test'],
  ['Per-Class Performance', 'Per-Class Performance'],
  ['Target Achievement', 'Target Achievement'],
  ['Confusion Matrix', 'Confusion Matrix'],
  ['Failure Mode', 'Failure Mode Analysis'],
];

afterAll(cleanupRuns);

describe('docs.test_results', () => {
  it('passes on the example run with all 6 sections', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([
      `6/6 sections present and non-empty in ${MD} (Performance Metrics l.8, Validation vs Test l.18, Per-Class Performance l.28, Target Achievement l.70, Confusion Matrix l.46, Failure Mode l.57)`,
    ]);
    expect(r.result.metrics).toEqual({ sections_present: 6, sections_required: 6 });
  });

  it.each(SECTIONS)('fails when "%s" is missing', async (name, heading) => {
    const r = await runOn(await variant({ [MD]: dropSection(heading) }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(`${MD} is missing: ${name}`);
    expect(r.result.metrics.sections_present).toBe(5);
    expect(r.result.remediation).toContain('Complete results/production/test_results.md with every section');
  });

  it.each(SECTIONS)('fails when "%s" is empty', async (name, heading) => {
    const r = await runOn(await variant({ [MD]: emptySection(heading) }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toMatch(
      new RegExp(`^${MD} has empty sections \\(< 20 characters of content\\): ${name} \\(${MD}:\\d+\\)$`),
    );
  });

  it('fails when the confusion matrix image the document refers to is missing', async () => {
    const dir = await variant();
    await removeFile(dir, PNG);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence.at(-1)).toBe(`${PNG} (the confusion matrix the document refers to) not found`);
  });

  it('accepts "Val vs. Test" spelled as "Validation vs Test Comparison" at ### level with CRLF', async () => {
    const r = await runOn(
      await variant({
        [MD]: (t) =>
          replace(
            '## Validation vs Test',
            '### Validation vs Test Comparison',
          )(t)
            .replace(/^## /gm, '### ')
            .replace(/\n/g, '\r\n'),
      }),
      check,
    );
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics.sections_present).toBe(6);
  });

  describeBadDocument(check, MD, {
    missing: { status: 'fail', text: `${MD} not found` },
    empty: {
      status: 'fail',
      text: `${MD} is missing: Performance Metrics, Validation vs Test, Per-Class Performance, Target Achievement, Confusion Matrix, Failure Mode`,
    },
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/qa-code-review.js';
import { describeBadDocument, dropSection, runOn, setSection, variant } from '../helpers/check.js';
import { cleanupRuns, EXAMPLE_RUN } from '../helpers/runs.js';

const REPORT = 'final_report.md';
const review = (body: string) => ({ [REPORT]: setSection('Code Review', body) });

afterAll(cleanupRuns);

describe('qa.code_review', () => {
  it('passes on the example run: reviewed by M. Okafor, approved', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([
      `${REPORT} "Code Review" (line 43): Inference code (the \`preprocess\`/\`predict\` code in docs/deployment_guide.md) and the export script`,
      `review recorded: "reviewed by" (${REPORT}:46)`,
    ]);
    expect(r.result.metrics).toEqual({ reviewed: true });
  });

  it('fails "Code review pending"', async () => {
    const r = await runOn(await variant(review('Code review pending (assigned to the platform team).')), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([
      `${REPORT} "Code Review" (line 43) says "review pending": Code review pending (assigned to the platform team). (${REPORT}:45)`,
    ]);
    expect(r.result.metrics).toEqual({ reviewed: false });
    expect(r.result.remediation).toContain('Have the inference code');
  });

  it.each([
    'Not yet reviewed; scheduled for next sprint.',
    'Reviewer: TBD, inference_api.py still open',
    'Changes requested by A. Chen on 2026-11-20.',
  ])('fails a review that is not done: "%s"', async (body) => {
    const r = await runOn(await variant(review(body)), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toMatch(new RegExp(`^${REPORT} "Code Review" \\(line 43\\) says "`));
  });

  it('fails a section that records no reviewer or approval', async () => {
    const r = await runOn(
      await variant(review('The inference code follows our usual conventions and has unit tests.')),
      check,
    );
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `${REPORT} "Code Review" (line 43) does not record a completed review (reviewer and approval): The inference code follows our usual conventions and has unit tests.`,
    );
  });

  it('passes "LGTM" and "Approved" forms', async () => {
    const r = await runOn(await variant(review('PR #42 (inference_api.py): LGTM from J. Doe, 2026-11-20.')), check);
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics.reviewed).toBe(true);
  });

  it('fails when the Code Review section is missing', async () => {
    const r = await runOn(await variant({ [REPORT]: dropSection('Code Review') }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([`${REPORT} has no "Code Review" section: no review recorded`]);
  });

  it('fails when the Code Review section is empty', async () => {
    const r = await runOn(await variant(review('')), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([`${REPORT} "Code Review" section (line 43) is empty`]);
  });

  it('reads a setext "Code Review" heading with CRLF', async () => {
    const r = await runOn(
      await variant({
        [REPORT]: (t) => t.replace('## Code Review', 'Code Review\n-----------').replace(/\n/g, '\r\n'),
      }),
      check,
    );
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toMatch(new RegExp(`^${REPORT} "Code Review" \\(line 43\\): Inference code`));
  });

  describeBadDocument(check, REPORT, {
    missing: { status: 'fail', text: `${REPORT} not found` },
    empty: { status: 'fail', text: `${REPORT} has no "Code Review" section` },
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/qa-known-issues.js';
import { describeBadDocument, dropSection, replace, runOn, setSection, variant } from '../helpers/check.js';
import { cleanupRuns, EXAMPLE_RUN } from '../helpers/runs.js';

const REPORT = 'final_report.md';
const KI1 = '| KI-1 | P3 | open |';
const NEW_ROW = '| KI-3 | P1 | open | ONNX export returns NaN logits for all-zero inputs. |';

afterAll(cleanupRuns);

describe('qa.known_issues', () => {
  it('passes on the example run: 2 issues (P3 open, P4 mitigated), none open at P0/P1', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([
      `${REPORT} "Known Issues" (line 34): 2 issue(s) documented, none open at P0/P1`,
    ]);
    expect(r.result.metrics).toEqual({ issues: 2, critical: 0, open_critical: 0 });
  });

  it('fails an open P1 in the Known Issues table, with its line', async () => {
    const r = await runOn(await variant({ [REPORT]: replace(/(\| KI-2 \|.*\n)/, `$1${NEW_ROW}\n`) }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([
      `open P1 issue (${REPORT}:40): KI-3 | P1 | open | ONNX export returns NaN logits for all-zero inputs.`,
      `contradicted by "No P0/P1 issues are known." (${REPORT}:42)`,
    ]);
    expect(r.result.metrics).toEqual({ issues: 3, critical: 1, open_critical: 1 });
    expect(r.result.remediation).toContain('No P0/P1 bugs may be open');
  });

  it('fails a P1 whose status is "mitigated" (still open)', async () => {
    const r = await runOn(
      await variant({ [REPORT]: replace('| KI-2 | P4 | mitigated |', '| KI-2 | P1 | mitigated |') }),
      check,
    );
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toMatch(
      new RegExp(`^open P1 issue \\(${REPORT}:39\\): KI-2 \\| P1 \\| mitigated \\|`),
    );
  });

  it('passes a closed P1 and counts it', async () => {
    const r = await runOn(await variant({ [REPORT]: replace(KI1, '| KI-1 | P1 | Fixed in v1.0.1 |') }), check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toBe(
      `${REPORT} "Known Issues" (line 34): 2 issue(s) documented, none open at P0/P1 (1 closed)`,
    );
    expect(r.result.metrics).toEqual({ issues: 2, critical: 1, open_critical: 0 });
  });

  it('fails a P0 in a list item (no table)', async () => {
    const body =
      '- P0: model returns class 0 for every input after the int8 conversion (open)\n- P3: slow cold start (closed)';
    const r = await runOn(await variant({ [REPORT]: setSection('Known Issues', body) }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([
      `open P0 issue (${REPORT}:36): P0: model returns class 0 for every input after the int8 conversion (open)`,
    ]);
  });

  it('fails a P0 list item written under the table', async () => {
    const r = await runOn(
      await variant({
        [REPORT]: replace('No P0/P1 issues are known.', '- **P0**: preprocessing crashes on grayscale PNG uploads'),
      }),
      check,
    );
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `open P0 issue (${REPORT}:41): P0: preprocessing crashes on grayscale PNG uploads`,
    );
  });

  it('passes a closed P0 list item', async () => {
    const r = await runOn(
      await variant({ [REPORT]: setSection('Known Issues', '- P0: NaN logits on empty input — resolved in v1.0.1') }),
      check,
    );
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics).toEqual({ issues: 1, critical: 1, open_critical: 0 });
  });

  it('fails a "Critical" issue without a P-level', async () => {
    const r = await runOn(
      await variant({
        [REPORT]: setSection('Known Issues', '* Critical: exported model ignores the normalisation step'),
      }),
      check,
    );
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `open critical issue (${REPORT}:36): Critical: exported model ignores the normalisation step`,
    );
  });

  it('honours policy blocking severities (P2 blocks when configured)', async () => {
    const dir = await variant({ [REPORT]: replace(KI1, '| KI-1 | P2 | open |') });
    expect((await runOn(dir, check)).result.status).toBe('pass');
    const strict = await runOn(dir, check, {
      policyLayer: { source: 'policy.yml', data: { qa: { blocking_severities: ['P0', 'P1', 'P2'] } } },
    });
    expect(strict.result.status).toBe('fail');
    expect(strict.result.evidence[0]).toMatch(/^open P2 issue/);
  });

  it('passes "No known issues."', async () => {
    const r = await runOn(await variant({ [REPORT]: setSection('Known Issues', 'No known issues.') }), check);
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics.issues).toBe(0);
  });

  it('fails when the Known Issues section is missing', async () => {
    const r = await runOn(await variant({ [REPORT]: dropSection('Known Issues') }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([`${REPORT} has no "Known Issues" section: known issues are not documented`]);
  });

  it('fails when the Known Issues section is empty', async () => {
    const r = await runOn(await variant({ [REPORT]: setSection('Known Issues') }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence).toEqual([
      `${REPORT} "Known Issues" section is empty: write the known issues or "No known issues"`,
    ]);
  });

  it('reads the section under a bold-only heading with CRLF', async () => {
    const r = await runOn(
      await variant({
        [REPORT]: (t) =>
          replace(
            /(\| KI-2 \|.*\n)/,
            `$1${NEW_ROW}\n`,
          )(t)
            .replace('## Known Issues', '**Known Issues:**')
            .replace(/\n/g, '\r\n'),
      }),
      check,
    );
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `open P1 issue (${REPORT}:40): KI-3 | P1 | open | ONNX export returns NaN logits for all-zero inputs.`,
    );
  });

  it('gives file line numbers under a setext heading', async () => {
    const r = await runOn(
      await variant({
        [REPORT]: (t) =>
          replace(/(\| KI-2 \|.*\n)/, `$1${NEW_ROW}\n`)(t).replace('## Known Issues', 'Known Issues\n------------'),
      }),
      check,
    );
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(
      `open P1 issue (${REPORT}:41): KI-3 | P1 | open | ONNX export returns NaN logits for all-zero inputs.`,
    );
  });

  describeBadDocument(check, REPORT, {
    missing: { status: 'fail', text: `${REPORT} not found` },
    empty: { status: 'fail', text: `${REPORT} has no "Known Issues" section` },
  });
});

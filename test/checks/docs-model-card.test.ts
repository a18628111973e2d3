import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/docs-model-card.js';
import {
  describeBadDocument,
  dropSection,
  emptySection,
  removeFile,
  replace,
  runOn,
  variant,
  writeRunFile,
} from '../helpers/check.js';
import { cleanupRuns, EXAMPLE_RUN } from '../helpers/runs.js';

const CARD = 'docs/model_card.md';
const REPORT = 'final_report.md';
const REPORT_CARD_SECTION = /## Model Card\n\n[\s\S]*$/;

afterAll(cleanupRuns);

describe('docs.model_card', () => {
  it('passes on the example run: model_card.md covers every topic', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([
      `${CARD} present, covers Intended Use, Training Data, Performance, Limitation, Ethical Consideration`,
    ]);
    expect(r.result.metrics).toEqual({ present: true, topics_covered: 5, topics: 5 });
  });

  it('warns (not fails) when the card is absent and final_report.md does not say why', async () => {
    const dir = await variant({ [REPORT]: replace(REPORT_CARD_SECTION, '') });
    await removeFile(dir, CARD);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('warn');
    expect(r.result.evidence).toEqual([
      `${CARD} absent and ${REPORT} does not document "Model card not created" with a justification`,
    ]);
    expect(r.result.remediation).toContain('Document "Model card not created" in final_report.md with justification');
  });

  it('passes when the card is absent and final_report.md documents "Model card not created" with a justification', async () => {
    const why =
      '## Model Card\n\nModel card not created: internal tool used only by the data team on synthetic digits, no end users; approved by the product owner.\n';
    const dir = await variant({ [REPORT]: replace(REPORT_CARD_SECTION, why) });
    await removeFile(dir, CARD);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toMatch(
      new RegExp(`^${CARD} absent; ${REPORT}:\\d+ documents why: "Model card not created: internal tool`),
    );
    expect(r.result.metrics).toEqual({ present: false, justified: true });
  });

  it('reads "Not created: …" / "Skipped — …" under the report\'s own Model Card heading, which names the card', async () => {
    for (const body of [
      'Not created: this internal digits demo has no external users; a card is planned for v1.1.',
      '**Skipped** — internal demo without external users; will be written before any external release.',
    ]) {
      const dir = await variant({ [REPORT]: replace(REPORT_CARD_SECTION, `## Model Card\n\n${body}\n`) });
      await removeFile(dir, CARD);
      const r = await runOn(dir, check);
      expect(r.result.status, r.text).toBe('pass');
      expect(r.result.evidence[0]).toMatch(new RegExp(`^${CARD} absent; ${REPORT}:51 documents why: "`));
    }
    // The same words under another heading do not speak of the card.
    const dir = await variant({
      [REPORT]: replace(
        REPORT_CARD_SECTION,
        '## Appendix\n\nNot created: a separate benchmark report, for lack of time.\n',
      ),
    });
    await removeFile(dir, CARD);
    expect((await runOn(dir, check)).result.status).toBe('warn');
  });

  it('warns when the report says the card was skipped but gives no justification', async () => {
    const dir = await variant({ [REPORT]: replace(REPORT_CARD_SECTION, 'Model card not created.\n') });
    await removeFile(dir, CARD);
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('warn');
    expect(r.result.evidence[0]).toMatch(
      new RegExp(`^${CARD} absent; ${REPORT}:\\d+ says so but gives no justification$`),
    );
  });

  it('warns when the card misses a topic (no Ethical Considerations)', async () => {
    const r = await runOn(await variant({ [CARD]: dropSection('Ethical Considerations') }), check);
    expect(r.result.status).toBe('warn');
    expect(r.result.evidence).toEqual([`${CARD} present; topics not covered: Ethical Consideration`]);
    expect(r.result.metrics.topics_covered).toBe(4);
  });

  it('warns when a topic section is empty', async () => {
    const r = await runOn(await variant({ [CARD]: emptySection('Intended Use') }), check);
    expect(r.result.status).toBe('warn');
    expect(r.result.evidence).toEqual([`${CARD} present; topics not covered: Intended Use (empty, ${CARD}:10)`]);
  });

  it('warns on a card with only a title', async () => {
    const dir = await variant();
    await writeRunFile(dir, CARD, '# Model Card\n');
    const r = await runOn(dir, check);
    expect(r.result.status).toBe('warn');
    expect(r.result.evidence).toEqual([`${CARD} exists but is empty`]);
  });

  describeBadDocument(check, CARD, {
    // The example's final_report.md points at the card instead of justifying its absence.
    missing: { status: 'warn', text: `${CARD} absent and ${REPORT} does not document` },
    empty: { status: 'warn', text: `${CARD} exists but is empty` },
  });
});

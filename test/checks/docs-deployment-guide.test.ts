import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/checks/docs-deployment-guide.js';
import {
  describeBadDocument,
  dropSection,
  emptySection,
  replace,
  runOn,
  setSection,
  variant,
} from '../helpers/check.js';
import { cleanupRuns, EXAMPLE_RUN } from '../helpers/runs.js';

const DOC = 'docs/deployment_guide.md';
const SECTIONS = [
  'Model Overview',
  'Input Specification',
  'Output Specification',
  'Inference API',
  'Performance Characteristics',
  'Monitoring Recommendations',
  'Deployment Environments',
  'Troubleshooting',
];
const ALL_PRESENT =
  `8/8 sections present and non-empty in ${DOC} (Model Overview l.3, Input Specification l.17, Output Specification l.47, Inference API l.63, ` +
  'Performance Characteristics l.109, Monitoring Recommendations l.133, Deployment Environments l.164, Troubleshooting l.175)';
const headings = (fn: (title: string, hashes: string) => string) =>
  replace(/^(##) (.+)$/gm, (_m: string, h: string, t: string) => fn(t, h));

afterAll(cleanupRuns);

describe('docs.deployment_guide', () => {
  it('passes on the example run with all 8 sections and their lines', async () => {
    const r = await runOn(EXAMPLE_RUN, check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([ALL_PRESENT]);
    expect(r.result.metrics).toEqual({ sections_present: 8, sections_required: 8 });
  });

  it.each(SECTIONS)('fails when "%s" is missing', async (name) => {
    const r = await runOn(await variant({ [DOC]: dropSection(name) }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(`${DOC} is missing: ${name}`);
    expect(r.result.metrics).toEqual({ sections_present: 7, sections_required: 8 });
    expect(r.result.remediation).toContain('Write docs/deployment_guide.md with every section the policy requires');
  });

  it.each(SECTIONS)('fails when "%s" is present but empty', async (name) => {
    const r = await runOn(await variant({ [DOC]: emptySection(name) }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toMatch(
      new RegExp(`^${DOC} has empty sections \\(< 20 characters of content\\): ${name} \\(${DOC}:\\d+\\)$`),
    );
  });

  it('a section holding only "TBD" counts as empty', async () => {
    const r = await runOn(await variant({ [DOC]: setSection('Troubleshooting', 'TBD') }), check);
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toContain('has empty sections (< 20 characters of content): Troubleshooting');
  });

  it('a heading only inside a fenced code block does not count', async () => {
    const r = await runOn(
      await variant({ [DOC]: replace('## Troubleshooting', '```text\n## Troubleshooting\n```') }),
      check,
    );
    expect(r.result.status).toBe('fail');
    expect(r.result.evidence[0]).toBe(`${DOC} is missing: Troubleshooting`);
  });

  it('accepts ### headings', async () => {
    const r = await runOn(await variant({ [DOC]: headings((t) => `### ${t}`) }), check);
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics.sections_present).toBe(8);
  });

  it('accepts setext headings', async () => {
    const r = await runOn(await variant({ [DOC]: headings((t) => `${t}\n${'-'.repeat(t.length)}`) }), check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence[0]).toContain('Model Overview l.3, Input Specification l.18');
  });

  it('accepts bold-only heading lines', async () => {
    const r = await runOn(await variant({ [DOC]: headings((t) => `**${t}**`) }), check);
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics.sections_present).toBe(8);
  });

  it('accepts numbered headings, trailing colons, plural/singular and extra whitespace', async () => {
    const r = await runOn(
      await variant({
        [DOC]: (t) =>
          t
            .replace('## Input Specification', '##    2.  Input Specifications:   ')
            .replace('## Troubleshooting', '## Troubleshooting Guide')
            .replace('## Inference API', '  ## Inference APIs ##'),
      }),
      check,
    );
    expect(r.result.status).toBe('pass');
    expect(r.result.metrics.sections_present).toBe(8);
  });

  it('accepts CRLF line endings with the same line numbers', async () => {
    const r = await runOn(await variant({ [DOC]: (t) => t.replace(/\n/g, '\r\n') }), check);
    expect(r.result.status).toBe('pass');
    expect(r.result.evidence).toEqual([ALL_PRESENT]);
  });

  describeBadDocument(check, DOC, {
    missing: { status: 'fail', text: `${DOC} not found` },
    empty: { status: 'fail', text: `${DOC} is missing: ${SECTIONS.join(', ')}` },
  });
});

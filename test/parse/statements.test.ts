import { describe, expect, it } from 'vitest';
import { findSection, parseMarkdown } from '../../src/parse/markdown.js';
import {
  clauses,
  negatedSeverities,
  readIssues,
  readReview,
  severitiesIn,
  statusOfField,
  statusOfText,
} from '../../src/parse/statements.js';

const P = ['P0', 'P1'];
const issues = (body: string) =>
  readIssues(findSection(parseMarkdown(`# R\n\n## Known Issues\n\n${body}\n`, 'r.md'), 'Known Issues')!, P);
const brief = (body: string) => issues(body).items.map((i) => [i.severity, i.status, i.line, i.conflict]);

describe('severity, status and negation', () => {
  it('severities: P-levels (also Sev 1, Priority 1), critical/blocker, policy names', () => {
    expect(severitiesIn('P0/P1 crash', P)).toEqual(['P0', 'P1']);
    expect(severitiesIn('Sev-1 outage; priority 2', P)).toEqual(['P1', 'P2']);
    expect(severitiesIn('a blocker for release', P)).toEqual(['critical']);
    expect(severitiesIn('S1 regression', ['S1'])).toEqual(['S1']);
    expect(severitiesIn('P10 and SP1 are not levels', P)).toEqual([]);
  });

  it('status words are whole words; mitigated, workaround and won\'t fix are open; "not fixed" is open', () => {
    expect(statusOfField('Fixed in v1.0.1').status).toBe('closed');
    expect(statusOfField('Mitigated').status).toBe('open');
    expect(statusOfField("Won't fix").status).toBe('open');
    expect(statusOfField('not fixed').status).toBe('open');
    expect(statusOfField('prefixed').status).toBeNull();
    expect(statusOfField('Fixed / reopened').conflict).toBe('"fixed" and "reopened"');
    expect(statusOfText('fixed input size breaks larger images').status).toBeNull();
    expect(statusOfText('NaN logits — resolved in v1.0.1').status).toBe('closed');
    expect(statusOfText('crash; workaround: retry').status).toBe('open');
  });

  it('negation: "No P0/P1 issues open." and "P0: none" say something is absent', () => {
    expect(negatedSeverities('No P0/P1 issues open.', P)).toEqual(['P0', 'P1']);
    expect(negatedSeverities('There are no open P0 or P1 bugs', P)).toEqual(['P0', 'P1']);
    expect(negatedSeverities('P0 issues: none', P)).toEqual(['P0']);
    expect(negatedSeverities('No known issues.', P)).toEqual([]);
    expect(negatedSeverities('No workaround exists for the P1 crash', P)).toBeNull();
    expect(clauses('P3: accuracy drops on noisy crops. No P0/P1 issues open.')).toEqual([
      'P3: accuracy drops on noisy crops.',
      'No P0/P1 issues open.',
    ]);
  });
});

describe('readIssues', () => {
  it('prose: the P3 is an issue, the negated sentence is not', () => {
    const r = issues('P3: accuracy drops on noisy crops. No P0/P1 issues open.');
    expect(r.items.map((i) => [i.severity, i.status, i.line])).toEqual([['P3', null, 5]]);
    expect(r.none.map((n) => n.severities)).toEqual([['P0', 'P1']]);
  });

  it('table rows with Severity and Status columns, each with its line', () => {
    expect(brief('| ID | Severity | Status |\n|---|---|---|\n| 1 | P1 | mitigated |\n| 2 | P0 | Closed |')).toEqual([
      ['P1', 'open', 7, null],
      ['P0', 'closed', 8, null],
    ]);
  });

  it('list items: explicit "Status:" sub-items and task boxes win over the description', () => {
    expect(
      brief('- P1: file handle left open on error\n  - Status: fixed in v1.0.1\n- [x] P0: crash\n- [ ] P1: drift'),
    ).toEqual([
      ['P1', 'closed', 5, null],
      ['P0', 'closed', 7, null],
      ['P1', 'open', 8, null],
    ]);
  });

  it('a sub-section is one item; its last status sub-heading decides', () => {
    const body =
      '### KI-3: P1 crash on empty input\n\nSeen in QA.\n\n#### Workaround\n\nRestart.\n\n#### Resolution: fixed in v1.0.1\n\nPatched.';
    expect(brief(body)).toEqual([['P1', 'closed', 5, null]]);
    expect(brief('### KI-4: P1 crash\n\n#### Workaround\n\nRestart.')).toEqual([['P1', 'open', 5, null]]);
    expect(brief('### KI-5: Crash on resize\n\n- Severity: P0\n- Status: open')).toEqual([['P0', 'open', 5, null]]);
  });

  it('a grouping heading ("### Resolved") gives its items a status', () => {
    expect(brief('### Open\n\n- P3: slow start\n\n### Resolved\n\n- P0: NaN logits')).toEqual([
      ['P3', 'open', 7, null],
      ['P0', 'closed', 11, null],
    ]);
  });

  it('an open severity word the policy does not rank is kept as written', () => {
    const [i] = issues('| Severity | Status | Description |\n|---|---|---|\n| High | open | x |').items;
    expect([i!.severity, i!.severityKnown]).toEqual(['High', false]);
  });
});

describe('readReview', () => {
  const review = (body: string) =>
    readReview(findSection(parseMarkdown(`## Code Review\n\n${body}\n`, 'r.md'), 'Code Review')!);

  it('done, not done and negated phrases', () => {
    const ok = review('Reviewed by A. Chen: approved, no changes requested.');
    expect(ok.notDone).toEqual([]);
    expect(ok.done[0]).toMatchObject({ phrase: 'reviewed by', line: 3 });
    expect(review('Not approved yet; reviewed by A. Chen.').notDone[0]).toMatchObject({
      phrase: 'not approved',
      line: 3,
    });
    expect(review('Review status: in progress').notDone[0]!.phrase).toBe('review status: in progress');
    expect(review('| Reviewer | Outcome |\n|---|---|\n| A. Chen | Changes requested |').notDone[0]).toMatchObject({
      phrase: 'outcome: changes requested',
      line: 5,
    });
  });

  it('merge-request wording: "reviewed and merged by", "2 approvals"; approval still pending is not done', () => {
    const merged = review('PR #142 reviewed and merged by M. Okafor (2 approvals).');
    expect(merged.notDone).toEqual([]);
    expect(merged.done.map((d) => d.phrase)).toEqual(['reviewed and merged by', '2 approvals']);
    expect(review('Merge request !88: 1 approval, CI green.').done[0]!.phrase).toBe('1 approval');
    expect(review('0 approvals so far.').done).toEqual([]);
    expect(review('Reviewer assigned; approval pending.').notDone[0]!.phrase).toBe('approval pending');
    expect(review('Pending approval from the platform team.').notDone[0]!.phrase).toBe('pending approval');
  });
});

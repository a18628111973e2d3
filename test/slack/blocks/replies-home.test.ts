import { describe, expect, it } from 'vitest';
import { renderHome } from '../../../src/slack/blocks/home.js';
import {
  INLINE_REPORT_MAX,
  renderHelp,
  renderInlineReport,
  renderNotice,
  renderStatus,
  renderUsageError,
  reportFilename,
  type StatusRow,
  signoffRefusalText,
} from '../../../src/slack/blocks/replies.js';
import { USAGE } from '../../../src/slack/command.js';
import type { SignoffRefusal } from '../../../src/store/types.js';
import { DIGEST, texts } from './fixtures.js';

const sectionTexts = (blocks: unknown[]) =>
  blocks.map((b) => (b as { type: string; text?: { text: string } }).text?.text ?? `(${(b as { type: string }).type})`);

const row = (i: number, over: Partial<StatusRow> = {}): StatusRow => ({
  run: `team/run-${i}`,
  modelName: `model ${i}`,
  gate: 'pending',
  evaluationId: `ev-${i}`,
  outstanding: [],
  blocking: [],
  ...over,
});

describe('renderStatus', () => {
  it('says what blocks before what waits, and when nothing is left', () => {
    const m = renderStatus([
      row(1, { gate: 'blocked', blocking: ['test.target', 'signoff.product'], outstanding: ['signoff.technical'] }),
      row(2, { outstanding: ['export.parity', 'signoff.product'] }),
      row(3, { gate: 'passed' }),
    ]);
    expect(sectionTexts(m.blocks)).toEqual([
      '❌ BLOCKED *model 1* — `team/run-1` (evaluation `ev-1`)\nblocked by test.target, signoff.product',
      '⏳ PENDING *model 2* — `team/run-2` (evaluation `ev-2`)\nwaiting for export.parity, signoff.product',
      '✅ PASSED *model 3* — `team/run-3` (evaluation `ev-3`)\nall checks passed and signed',
    ]);
    expect(m.text).toBe('team/run-1: ❌ BLOCKED; team/run-2: ⏳ PENDING; team/run-3: ✅ PASSED');
  });

  it('lists twenty rows and says how many more there are', () => {
    const twenty = renderStatus(Array.from({ length: 20 }, (_, i) => row(i)));
    expect(twenty.blocks).toHaveLength(20);
    expect(twenty.blocks.every((b) => b.type === 'section')).toBe(true);
    const more = renderStatus(Array.from({ length: 23 }, (_, i) => row(i)));
    expect(more.blocks).toHaveLength(21);
    expect(sectionTexts(more.blocks).slice(19, 20)[0]).toContain('`team/run-19`');
    expect(more.blocks[20]).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: '… and 3 more', verbatim: true }],
    });
    // the fallback text names every row
    expect(more.text.split('; ')).toHaveLength(23);
  });

  it('escapes names, runs and ids that come from artifacts or users', () => {
    const m = renderStatus([row(1, { modelName: '<!channel>', run: 'a<b', evaluationId: 'e&1', blocking: ['x>y'] })]);
    const [text] = sectionTexts(m.blocks);
    expect(text).not.toMatch(/<!channel>|a<b|e&1|x>y/);
    expect(text).toContain('&lt;!channel&gt;');
    expect(m.text).toBe('a&lt;b: ⏳ PENDING');
  });

  it('with no rows, says there is no evaluation of the run (and how to start one), or none open', () => {
    expect(renderStatus([], 'team/r<1')).toEqual({
      text: 'No evaluation of `team/r&lt;1` yet. Start one with `/readiness run team/r&lt;1`.',
      blocks: [
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: 'No evaluation of `team/r&lt;1` yet. Start one with `/readiness run team/r&lt;1`.',
            verbatim: true,
          },
        },
      ],
    });
    expect(renderStatus([]).text).toBe('No open evaluations.');
  });
});

describe('replies', () => {
  it('help shows the usage under the title', () => {
    const m = renderHelp();
    expect(m.text).toBe('readiness commands');
    expect(sectionTexts(m.blocks)).toEqual([`*Production readiness gate*\n${USAGE}`]);
  });

  it('a usage error shows the escaped message and the usage', () => {
    const m = renderUsageError('unknown subcommand "<x>"');
    expect(m.text).toBe('Usage error: unknown subcommand "&lt;x&gt;"');
    expect(m.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: '⚠️ unknown subcommand "&lt;x&gt;"', verbatim: true } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: USAGE, verbatim: true }] },
    ]);
  });

  it('a notice is its text, cut to the limits', () => {
    expect(renderNotice('Done.')).toEqual({
      text: 'Done.',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Done.', verbatim: true } }],
    });
    const long = renderNotice('x'.repeat(5000));
    expect(long.text).toHaveLength(5000);
    expect(sectionTexts(long.blocks)[0]).toHaveLength(3000);
  });

  it('an inline report is the escaped markdown in a code block, up to INLINE_REPORT_MAX after escaping', () => {
    expect(renderInlineReport('# Report\n<b>', 'team/r<1')).toEqual({
      text: 'Readiness report for team/r&lt;1',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '```\n# Report\n&lt;b&gt;\n```', verbatim: true } }],
    });
    expect(renderInlineReport('x'.repeat(INLINE_REPORT_MAX), 'r')).not.toBeNull();
    expect(renderInlineReport('x'.repeat(INLINE_REPORT_MAX + 1), 'r')).toBeNull();
    // escaping makes it longer: `<` is four characters once escaped
    expect(renderInlineReport(`${'x'.repeat(INLINE_REPORT_MAX - 3)}<`, 'r')).toBeNull();
    // a report quoting a code fence would end the block early
    expect(renderInlineReport('a\n```\nb', 'r')).toBeNull();
  });

  it('report file names keep letters, digits, _ . - and are cut to 100 characters', () => {
    expect(reportFilename('team/run 1')).toBe('readiness-team_run_1.md');
    expect(reportFilename('a//..b c.d-e_f')).toBe('readiness-a_..b_c.d-e_f.md');
    expect(reportFilename('é€x')).toBe('readiness-_x.md');
    expect(reportFilename('r'.repeat(150))).toBe(`readiness-${'r'.repeat(100)}.md`);
  });
});

describe('signoffRefusalText', () => {
  const reasons: [SignoffRefusal, RegExp][] = [
    ['not_authorised', /not an approver for this role/],
    ['self_approval', /You requested this evaluation; someone else must sign it off/],
    ['already_signed_other_role', /already signed another role.*one person signs at most one role/],
    ['role_already_signed', /role has already been signed/],
    ['digest_changed', /artifacts changed.*rerun the evaluation/],
    ['checks_not_passing', /once every automated check passes/],
    ['superseded', /superseded by a newer one.*sign the latest/],
    ['unknown_evaluation', /does not exist/],
    ['nothing_to_withdraw', /no sign-off of this role to withdraw/],
    ['already_signed_this_role', /already signed this role; each person counts once/],
    ['not_own_signoff', /Only the approver who gave an approval can withdraw it/],
  ];

  it('tells the clicker why, in its own words for each reason', () => {
    for (const [reason, text] of reasons) expect(signoffRefusalText(reason), reason).toMatch(text);
    expect(new Set(reasons.map(([r]) => signoffRefusalText(r))).size).toBe(reasons.length);
  });
});

describe('renderHome', () => {
  const waiting = (i: number) => ({
    evaluationId: `ev${i}`,
    run: `r${i}`,
    modelName: `M${i}`,
    digest: DIGEST,
    role: 'product' as const,
    requester: 'U1',
  });
  const recent = (i: number, superseded = false) => ({
    evaluationId: `ev${i}`,
    run: `r${i}`,
    modelName: `M${i}`,
    gate: 'blocked' as const,
    requester: 'U2',
    createdAt: '2026-11-27T10:05:30Z',
    superseded,
  });

  it('shows each waiting sign-off with its buttons, and each recent evaluation on a line', () => {
    const view = renderHome({ waiting: [waiting(1)], recent: [recent(1), recent(2, true)] });
    expect(view.type).toBe('home');
    expect(sectionTexts(view.blocks)).toEqual([
      'Production readiness gate',
      '*Sign-offs waiting for you* (1)',
      '*M1* — `r1` · as *Product Owner* · requested by <@U1>',
      '(actions)',
      '(divider)',
      '*Recent evaluations*',
      '❌ BLOCKED *M1* — `r1` · <@U2> · 2026-11-27 10:05 UTC\n❌ BLOCKED *M2* — `r2` · <@U2> · 2026-11-27 10:05 UTC · _superseded_',
    ]);
    const actions = view.blocks[3] as { elements: { action_id: string }[] };
    expect(actions.elements.map((e) => e.action_id)).toEqual(['signoff_approve_product', 'signoff_reject_product']);
    expect(view.blocks[0]).toMatchObject({ type: 'header' });
  });

  it('shows fifteen waiting sign-offs and counts the rest; recent evaluations ten to a section, twenty at most', () => {
    const fifteen = renderHome({ waiting: Array.from({ length: 15 }, (_, i) => waiting(i)), recent: [] });
    expect(fifteen.blocks.filter((b) => b.type === 'actions')).toHaveLength(15);
    expect(texts(fifteen.blocks).some((t) => t.text.includes('more'))).toBe(false);
    const sixteen = renderHome({ waiting: Array.from({ length: 16 }, (_, i) => waiting(i)), recent: [] });
    expect(sixteen.blocks.filter((b) => b.type === 'actions')).toHaveLength(15);
    expect(texts(sixteen.blocks).map((t) => t.text)).toContain('… and 1 more');

    const many = renderHome({ waiting: [], recent: Array.from({ length: 25 }, (_, i) => recent(i)) });
    const sections = sectionTexts(many.blocks).slice(5);
    expect(sections.map((s) => s.split('\n').length)).toEqual([10, 10]);
    expect(sections[1]).toContain('`r19`');
    expect(sections.join('\n')).not.toContain('`r20`');
    const eleven = renderHome({ waiting: [], recent: Array.from({ length: 11 }, (_, i) => recent(i)) });
    expect(
      sectionTexts(eleven.blocks)
        .slice(5)
        .map((s) => s.split('\n').length),
    ).toEqual([10, 1]);
  });

  it('says when nothing is waiting and when there are no evaluations yet', () => {
    const view = renderHome({ waiting: [], recent: [] });
    expect(view.blocks).toEqual([
      { type: 'header', text: { type: 'plain_text', text: 'Production readiness gate', emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: '*Sign-offs waiting for you* (0)', verbatim: true } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'Nothing waiting for you.', verbatim: true }] },
      { type: 'divider' },
      { type: 'section', text: { type: 'mrkdwn', text: '*Recent evaluations*', verbatim: true } },
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: 'No evaluations yet. Start one with `/readiness run <run>`.', verbatim: true },
        ],
      },
    ]);
  });

  it('escapes model and run names', () => {
    const view = renderHome({
      waiting: [{ ...waiting(1), modelName: '<!here>', run: 'a<b' }],
      recent: [{ ...recent(1), modelName: '<@U9>', run: 'c>d' }],
    });
    const all = texts(view.blocks)
      .map((t) => t.text)
      .join('\n');
    expect(all).not.toMatch(/<!here>|a<b|<@U9>|c>d/);
    expect(all).toContain('&lt;!here&gt;');
  });
});

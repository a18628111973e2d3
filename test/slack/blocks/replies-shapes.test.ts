import { describe, expect, it } from 'vitest';
import { renderHome } from '../../../src/slack/blocks/home.js';
import { LIMITS } from '../../../src/slack/blocks/limits.js';
import {
  INLINE_REPORT_MAX,
  renderHelp,
  renderInlineReport,
  waiverRefusalText,
} from '../../../src/slack/blocks/replies.js';
import { decodeSignoffValue } from '../../../src/slack/blocks/signoff.js';
import type { WaiverRefusal } from '../../../src/store/types.js';
import { DIGEST } from './fixtures.js';

describe('waiverRefusalText', () => {
  const reasons: [WaiverRefusal, RegExp][] = [
    ['unknown_evaluation', /^This evaluation does not exist \(any more\)\.$/],
    ['superseded', /superseded by a newer one of the same run; use the latest evaluation/],
    ['digest_changed', /artifacts changed.*a waiver belongs to the artifacts it was asked for/],
    ['not_requester', /Only the person who requested this evaluation may ask for a waiver/],
    ['not_waivable', /does not allow waiving this check/],
    ['check_not_failing', /Only a failing check can be waived/],
    ['security_finding', /security findings are never waived/],
    ['waiver_pending', /already waiting for approval/],
    ['already_waived', /^This check is already waived\.$/],
    ['not_authorised', /^You are not an approver for this role\.$/],
    ['unknown_waiver', /no longer the current one/],
    ['waiver_decided', /already been decided/],
    ['waiver_expired', /expired; request a new one/],
    ['role_not_required', /does not ask this role to approve waivers/],
    ['self_approval', /You asked for this waiver.*someone else must approve it/],
    ['role_already_decided', /This role has already approved this waiver/],
    ['already_approved_other_role', /one person approves at most one role/],
  ];

  it('tells the clicker why, in its own words for each reason', () => {
    for (const [reason, text] of reasons) expect(waiverRefusalText(reason), reason).toMatch(text);
    expect(new Set(reasons.map(([r]) => waiverRefusalText(r))).size).toBe(reasons.length);
  });
});

describe('block shapes', () => {
  it('help is one section', () => {
    expect(renderHelp().blocks.map((b) => b.type)).toEqual(['section']);
  });

  it('the largest inline report still fits a section, whole and with its code block closed', () => {
    const m = renderInlineReport('x'.repeat(INLINE_REPORT_MAX), 'r')!;
    const text = (m.blocks[0] as { text: { text: string } }).text.text;
    expect(text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    expect(text).toBe(`\`\`\`\n${'x'.repeat(INLINE_REPORT_MAX)}\n\`\`\``);
  });

  it("Home's waiting rows are sections whose buttons carry the evaluation and digest; recent lines are sections", () => {
    const view = renderHome({
      waiting: Array.from({ length: 16 }, (_, i) => ({
        evaluationId: `ev${i}`,
        run: `r${i}`,
        modelName: 'M',
        digest: DIGEST,
        role: 'technical' as const,
        requester: 'U1',
      })),
      recent: [
        {
          evaluationId: 'ev1',
          run: 'r1',
          modelName: 'M',
          gate: 'passed',
          requester: 'U1',
          createdAt: '2026-11-27T10:00:00Z',
          superseded: false,
        },
      ],
    });
    expect(view.blocks.map((b) => b.type)).toEqual([
      'header',
      'section',
      ...Array.from({ length: 15 }, () => ['section', 'actions']).flat(),
      'context',
      'divider',
      'section',
      'section',
    ]);
    const actions = view.blocks[3] as { elements: { value: string }[] };
    for (const e of actions.elements)
      expect(decodeSignoffValue(e.value)).toEqual({ evaluationId: 'ev0', digest: DIGEST });
  });
});

import { describe, expect, it } from 'vitest';
import type { SignoffRecord } from '../../../src/gate/evaluate.js';
import { LIMITS } from '../../../src/slack/blocks/limits.js';
import { messageLink } from '../../../src/slack/blocks/links.js';
import { LIST_MAX_ROWS, type ListRow, renderEvaluationList } from '../../../src/slack/blocks/list.js';
import { renderReopenedNotification, renderSignoffSection } from '../../../src/slack/blocks/signoff.js';
import { blockText, buttons } from '../harness.js';

const D = 'b'.repeat(64);

function row(i: number, over: Partial<ListRow> = {}): ListRow {
  return {
    evaluationId: `ev-${i}`,
    run: `team/run-${i}`,
    modelName: `model ${i}`,
    gate: 'pending',
    requester: 'U0REQ',
    createdAt: '2026-11-01T10:00:00.000Z',
    message: { channel: 'C0GATE', ts: `1700000000.${String(i).padStart(6, '0')}` },
    outstandingChecks: [],
    blockingChecks: [],
    pendingRoles: [{ role: 'technical', approvals: [], needed: 2 }],
    signoffOpen: true,
    ...over,
  };
}

/** Every text object of a payload with its limit: sections 3000, context elements 3000. */
function longestText(blocks: unknown[]): number {
  return Math.max(
    ...blockText(blocks)
      .split('\n')
      .map((l) => l.length),
    0,
  );
}

describe('/readiness list rendering', () => {
  it('is bounded: at most LIST_MAX_ROWS rows and Slack’s block limit, the rest counted', () => {
    const m = renderEvaluationList({ filter: 'open', rows: Array.from({ length: 75 }, (_, i) => row(i)) });
    expect(m.blocks.length).toBeLessThanOrEqual(LIMITS.messageBlocks);
    expect(m.blocks.filter((b) => b.type === 'section')).toHaveLength(LIST_MAX_ROWS + 1);
    expect(blockText(m.blocks)).toContain(`… and ${75 - LIST_MAX_ROWS} more not shown`);
    expect(m.text.length).toBeLessThanOrEqual(LIMITS.messageText);
  });

  it('escapes run names and model names, truncates huge ones, and links only a real channel and ts', () => {
    const huge = `<!here> ${'x'.repeat(10_000)}`;
    const m = renderEvaluationList({
      filter: 'open',
      rows: [
        row(1, { modelName: huge, run: 'team/<@U0EVIL>', message: { channel: 'C0GATE|evil', ts: '1.2' } }),
        row(2, { outstandingChecks: ['export.parity', 'export.inference'] }),
      ],
    });
    const text = blockText(m.blocks);
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('<@U0EVIL>');
    expect(text).toContain('no gate message yet');
    expect(text).toContain('<https://slack.com/archives/C0GATE/p1700000000000002|gate message>');
    expect(text).toContain('Waiting for checks still running: `export.parity`, `export.inference`');
    for (const b of m.blocks)
      if (b.type === 'section') expect((b as { text: { text: string } }).text.text.length).toBeLessThanOrEqual(3000);
    expect(longestText(m.blocks)).toBeLessThanOrEqual(LIMITS.sectionText);
    expect(messageLink({ channel: 'C0GATE', ts: '1700000000.123' })).toBe(
      'https://slack.com/archives/C0GATE/p1700000000123000',
    );
    expect(messageLink({ channel: 'https://evil', ts: '1.2' })).toBeNull();
  });
});

describe('N-of-M sign-off section', () => {
  const base = {
    evaluationId: 'ev-1',
    digest: D,
    modelName: 'm',
    requiredRoles: ['technical', 'product', 'compliance'] as const,
    minApprovals: { technical: 20 },
    live: true,
    superseded: false,
  };

  it('shows "k of n" with every approver, keeps Approve/Reject live until the quorum, within Slack’s limits', () => {
    const signoffs: SignoffRecord[] = Array.from({ length: 19 }, (_, i) => ({
      role: 'technical' as const,
      decision: 'approved' as const,
      user: `U0T${String(i).padStart(3, '0')}`,
      at: `2026-11-01T10:${String(i).padStart(2, '0')}:00.000Z`,
      digest: D,
    }));
    const blocks = renderSignoffSection({ ...base, signoffs });
    const text = blockText(blocks);
    expect(text).toContain('*Technical Lead*: 19 of 20 approvals — approved by <@U0T000> on 2026-11-01 10:00 UTC');
    expect(text).toContain('<@U0T018>');
    expect(text).toContain('awaiting 1 more');
    expect([...buttons(blocks).keys()]).toEqual(
      expect.arrayContaining(['signoff_approve_technical', 'signoff_reject_technical', 'signoff_withdraw_technical']),
    );
    expect(longestText(blocks)).toBeLessThanOrEqual(LIMITS.sectionText);
    // the 20th approval completes it: no more Approve for the role
    const done = renderSignoffSection({
      ...base,
      signoffs: [...signoffs, { ...signoffs[0]!, user: 'U0T999', at: '2026-11-01T11:00:00.000Z' }],
    });
    expect(blockText(done)).toContain('✅ *Technical Lead* (20 of 20): approved by');
    expect(buttons(done).has('signoff_approve_technical')).toBe(false);
    expect(buttons(done).has('signoff_withdraw_technical')).toBe(true);
  });

  it('a rejection closes every role however many approved, and offers its Withdraw', () => {
    const blocks = renderSignoffSection({
      ...base,
      signoffs: [
        { role: 'technical', decision: 'approved', user: 'U0A', at: '2026-11-01T10:00:00.000Z', digest: D },
        {
          role: 'technical',
          decision: 'rejected',
          user: 'U0B',
          at: '2026-11-01T10:05:00.000Z',
          digest: D,
          reason: '<!channel> no',
        },
      ],
    });
    const text = blockText(blocks);
    expect(text).toContain('❌ *Technical Lead*: rejected by <@U0B>');
    expect(text).toContain('&lt;!channel&gt; no');
    expect(text).toContain('approved by <@U0A>');
    expect([...buttons(blocks).keys()]).toEqual(['signoff_withdraw_technical']);
  });

  it('the re-opened notice names who withdrew whose sign-off and links the gate message; run text escaped', () => {
    const m = renderReopenedNotification({
      modelName: '<!channel> model',
      run: 'team/<@U0EVIL>',
      evaluationId: 'ev-9',
      role: 'compliance',
      withdrawnBy: 'U0COMP',
      withdrawn: {
        role: 'compliance',
        decision: 'approved',
        user: 'U0COMP',
        at: '2026-11-01T10:00:00.000Z',
        digest: D,
      },
      message: { channel: 'C0GATE', ts: '1700000000.000100' },
    });
    const text = blockText(m.blocks);
    expect(text).toContain('<@U0COMP> withdrew their *Compliance* approval');
    expect(text).toContain('<https://slack.com/archives/C0GATE/p1700000000000100|Open the gate message>');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<@U0EVIL>');
    expect(m.text).not.toContain('<!channel>');
  });
});

import { describe, expect, it } from 'vitest';
import { renderHome } from '../../../src/slack/blocks/home.js';
import { decodeRejectMetadata, readRejectReason, renderRejectModal } from '../../../src/slack/blocks/modals.js';
import {
  INLINE_REPORT_MAX,
  renderInlineReport,
  renderStatus,
  renderUsageError,
  reportFilename,
} from '../../../src/slack/blocks/replies.js';
import { decodeSignoffValue, encodeSignoffValue, roleFromAction } from '../../../src/slack/blocks/signoff.js';
import { DIGEST, limitViolations, texts } from './fixtures.js';

describe('sign-off values', () => {
  it('round-trips and refuses forged values', () => {
    expect(decodeSignoffValue(encodeSignoffValue({ evaluationId: 'ev-1', digest: DIGEST }))).toEqual({
      evaluationId: 'ev-1',
      digest: DIGEST,
    });
    expect(decodeSignoffValue('ev-1')).toBeNull();
    expect(decodeSignoffValue(JSON.stringify({ e: 'x', d: 'not-hex' }))).toBeNull();
    expect(decodeSignoffValue(JSON.stringify({ e: 'x', d: DIGEST, extra: 1 }))).toBeNull();
    expect(roleFromAction('signoff_approve_product')).toBe('product');
    expect(roleFromAction('signoff_reject_compliance')).toBe('compliance');
    expect(roleFromAction('signoff_approve_ceo')).toBeNull();
  });
});

describe('reject modal', () => {
  it('requires a reason and remembers evaluation, digest, role and channel', () => {
    const view = renderRejectModal({
      metadata: { evaluationId: 'ev1', digest: DIGEST, role: 'product', channel: 'C1' },
      modelName: 'Digits',
      run: 'r',
    });
    expect(view.title.text.length).toBeLessThanOrEqual(24);
    expect(decodeRejectMetadata(view.private_metadata)).toEqual({
      evaluationId: 'ev1',
      digest: DIGEST,
      role: 'product',
      channel: 'C1',
    });
    const input = view.blocks.find((b) => b.type === 'input') as {
      optional?: boolean;
      element: { min_length: number };
    };
    expect(input.optional).toBeUndefined();
    expect(input.element.min_length).toBe(1);
    expect(readRejectReason({ reason: { reason_input: { value: '  ' } } })).toEqual({
      error: 'A reason is required to reject.',
    });
    expect(readRejectReason({ reason: { reason_input: { value: ' bad calibration ' } } })).toEqual({
      reason: 'bad calibration',
    });
    expect(decodeRejectMetadata('{"e":"x","d":"zz","r":"product"}')).toBeNull();
  });
});

describe('App Home', () => {
  it('lists waiting sign-offs with buttons and recent evaluations, within 100 blocks', () => {
    const waiting = Array.from({ length: 40 }, (_, i) => ({
      evaluationId: `ev${i}`,
      run: `r${i}`,
      modelName: 'M',
      digest: DIGEST,
      role: 'technical' as const,
      requester: 'U1',
    }));
    const recent = Array.from({ length: 60 }, (_, i) => ({
      evaluationId: `ev${i}`,
      run: `r${i}`,
      modelName: 'M',
      gate: 'pending' as const,
      requester: 'U1',
      createdAt: '2024-05-01T00:00:00Z',
      superseded: i % 2 === 0,
    }));
    const view = renderHome({ waiting, recent });
    expect(view.type).toBe('home');
    expect(limitViolations(view.blocks, 100)).toEqual([]);
    const all = texts(view.blocks)
      .map((t) => t.text)
      .join('\n');
    expect(all).toContain('*Sign-offs waiting for you* (40)');
    expect(all).toContain('… and 25 more');
    expect(all).toContain('_superseded_');
    expect(view.blocks.filter((b) => b.type === 'actions')).toHaveLength(15);
  });

  it('says when nothing is waiting', () => {
    const all = texts(renderHome({ waiting: [], recent: [] }).blocks)
      .map((t) => t.text)
      .join('\n');
    expect(all).toContain('Nothing waiting for you.');
    expect(all).toContain('No evaluations yet');
  });
});

describe('replies', () => {
  it('usage errors carry the message and the usage', () => {
    const all = texts(renderUsageError('unknown subcommand "x"').blocks)
      .map((t) => t.text)
      .join('\n');
    expect(all).toContain('unknown subcommand "x"');
    expect(all).toContain('/readiness run <run>');
  });

  it('small reports go inline in a code block, large ones not', () => {
    expect(renderInlineReport('# small', 'r')?.blocks[0]).toMatchObject({ type: 'section' });
    expect(renderInlineReport('x'.repeat(INLINE_REPORT_MAX + 1), 'r')).toBeNull();
    expect(reportFilename('team/run 1')).toBe('readiness-team_run_1.md');
  });

  it('status rows say what blocks or waits', () => {
    const all = texts(
      renderStatus([
        { run: 'r', modelName: 'M', gate: 'blocked', evaluationId: 'e', blocking: ['test.target'], outstanding: [] },
      ]).blocks,
    )
      .map((t) => t.text)
      .join('\n');
    expect(all).toContain('blocked by test.target');
    expect(texts(renderStatus([], 'r').blocks)[0]?.text).toContain('No evaluation of `r` yet');
  });
});

import { describe, expect, it } from 'vitest';
import { resolvePolicy } from '../../../src/policy/load.js';
import { renderHome } from '../../../src/slack/blocks/home.js';
import { decodeRejectMetadata, readRejectReason, renderRejectModal } from '../../../src/slack/blocks/modals.js';
import {
  INLINE_REPORT_MAX,
  renderInlineReport,
  renderStatus,
  renderUsageError,
  reportFilename,
  waiverProblemText,
  waiverRefusalText,
} from '../../../src/slack/blocks/replies.js';
import { decodeSignoffValue, encodeSignoffValue, roleFromAction } from '../../../src/slack/blocks/signoff.js';
import { waiverRequestProblem } from '../../../src/waivers/waivers.js';
import { resultFor } from '../../helpers/store.js';
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

describe('waiver refusals: the store and the waiver rules give codes, the words are here', () => {
  it('says why a waiver may not be requested', () => {
    const policy = resolvePolicy([{ source: 'team.yml', data: { waivers: { 'test.target': ['product'] } } }]).policy;
    const now = new Date('2026-11-01T09:00:00Z');
    const fail = resultFor('test.target', 'fail');
    const say = (input: Partial<Parameters<typeof waiverRequestProblem>[0]>) => {
      const p = waiverRequestProblem({ policy, check: fail, checkId: 'test.target', now, ...input });
      return p ? waiverProblemText(p) : null;
    };
    expect(say({ checkId: 'export.provenance', check: resultFor('export.provenance', 'fail') })).toBe(
      '`export.provenance` is an integrity check (the exported weights must be the best checkpoint’s); it can never be waived.',
    );
    expect(say({ checkId: 'test.val_gap', check: resultFor('test.val_gap', 'fail') })).toBe(
      'The team policy does not allow waiving `test.val_gap` (see `waivers` in the policy).',
    );
    expect(say({ check: resultFor('test.target', 'fail', { security: true }) })).toBe(
      '`test.target` failed with a security finding; security findings are never waived.',
    );
    expect(say({ check: resultFor('test.target', 'error') })).toBe(
      '`test.target` is error; only a failing check can be waived.',
    );
    expect(say({ check: undefined })).toBe('`test.target` is unknown; only a failing check can be waived.');
    expect(say({ reason: '  ' })).toBe('A reason is required.');
    expect(say({ reason: 'x'.repeat(2001) })).toBe('Keep the reason under 2000 characters.');
    expect(say({ reason: 'ok', expiresOn: '2026-02-30' })).toBe('Choose an expiry date.');
    expect(say({ reason: 'ok', expiresOn: '2026-10-31' })).toBe(
      'The expiry date is in the past; choose today or a later day.',
    );
    expect(say({ reason: 'ok', expiresOn: '2027-01-31' })).toBe(
      'A waiver may run at most 90 days: choose 2027-01-30 or earlier.',
    );
    expect(say({ reason: 'ok', expiresOn: '2027-01-30' })).toBeNull();
  });

  it('says why the store refused a waiver step', () => {
    expect(waiverRefusalText('not_requester')).toBe(
      'Only the person who requested this evaluation may ask for a waiver.',
    );
    expect(waiverRefusalText('waiver_pending')).toBe('A waiver of this check is already waiting for approval.');
    expect(waiverRefusalText('already_approved_other_role')).toBe(
      'You already approved this waiver for another role; one person approves at most one role.',
    );
  });
});

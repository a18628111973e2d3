import { describe, expect, it } from 'vitest';
import {
  decodeRejectMetadata,
  decodeWaiverMetadata,
  encodeRejectMetadata,
  encodeWaiverMetadata,
  readWaiverRejectReason,
  readWaiverRequest,
  renderRejectModal,
  renderWaiverRejectModal,
  renderWaiverRequestModal,
} from '../../../src/slack/blocks/modals.js';
import { decodeSignoffValue, encodeSignoffValue } from '../../../src/slack/blocks/signoff.js';
import { decodeWaiverValue, encodeWaiverValue } from '../../../src/slack/blocks/waivers.js';
import { DIGEST } from './fixtures.js';

const plain = (text: string) => ({ type: 'plain_text', text, emoji: true });

describe('modals', () => {
  it('the waiver request modal: what it asks, its reason and its date', () => {
    const view = renderWaiverRequestModal({
      metadata: { evaluationId: 'ev-1', digest: DIGEST, check: 'test.target', channel: 'C1' },
      checkTitle: 'Test accuracy meets the target',
      modelName: 'digits',
      run: 'runs/a',
      roles: ['technical', 'product'],
      initialDate: '2026-01-30',
      today: '2026-01-01',
      latestDate: '2026-03-31',
    });
    expect({ ...view, blocks: view.blocks.slice(1) }).toEqual({
      type: 'modal',
      callback_id: 'waiver_request_modal',
      private_metadata: encodeWaiverMetadata({
        evaluationId: 'ev-1',
        digest: DIGEST,
        check: 'test.target',
        channel: 'C1',
      }),
      title: plain('Request waiver'),
      submit: plain('Request'),
      close: plain('Cancel'),
      blocks: [
        {
          type: 'input',
          block_id: 'waiver_reason',
          label: plain('Why may this model ship with this item failing?'),
          element: {
            type: 'plain_text_input',
            action_id: 'waiver_reason_input',
            multiline: true,
            min_length: 1,
            max_length: expect.any(Number),
            placeholder: plain('e.g. Product accepts 78% for the pilot; retraining with the new labels is planned'),
          },
        },
        {
          type: 'input',
          block_id: 'waiver_expiry',
          label: plain('Valid until (last day, UTC; 2026-01-01 – 2026-03-31)'),
          element: { type: 'datepicker', action_id: 'waiver_expiry_input', initial_date: '2026-01-30' },
        },
      ],
    });
    expect(view.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(JSON.stringify(view.blocks[0])).toContain(
      '*Test accuracy meets the target* (`test.target`) fails for *digits*',
    );
  });

  it('the waiver reject modal: a reason without placeholder, the role when known', () => {
    const metadata = { evaluationId: 'ev-1', digest: DIGEST, check: 'test.target', waiverId: 'wv-a1-ff' };
    const view = renderWaiverRejectModal({ metadata: { ...metadata, role: 'product' }, checkTitle: 'Target' });
    expect(view).toMatchObject({
      callback_id: 'waiver_reject_modal',
      title: plain('Reject waiver'),
      submit: plain('Reject'),
      close: plain('Cancel'),
    });
    expect(view.blocks[1]).toEqual({
      type: 'input',
      block_id: 'waiver_reason',
      label: plain('Reason'),
      element: {
        type: 'plain_text_input',
        action_id: 'waiver_reason_input',
        multiline: true,
        min_length: 1,
        max_length: 2000,
      },
    });
    expect(JSON.stringify(view.blocks[0])).toContain('as *Product Owner*');
    expect(JSON.stringify(renderWaiverRejectModal({ metadata, checkTitle: 'Target' }).blocks[0])).not.toContain(' as ');
    expect(decodeWaiverMetadata(view.private_metadata)).toEqual({ ...metadata, role: 'product' });
  });

  it('the reject modal closes with Cancel', () => {
    const view = renderRejectModal({
      metadata: { evaluationId: 'ev-1', digest: DIGEST, role: 'technical' },
      modelName: 'digits',
      run: 'runs/a',
    });
    expect(view.close).toEqual(plain('Cancel'));
    expect(view.submit).toEqual(plain('Reject'));
  });

  it('reads the waiver forms: reason and date, or the message of each input', () => {
    const form = (reason: unknown, date?: unknown) => ({
      waiver_reason: { waiver_reason_input: { value: reason } },
      waiver_expiry: { waiver_expiry_input: { selected_date: date } },
    });
    expect(readWaiverRequest(form(' why ', '2026-02-01'))).toEqual({ reason: 'why', expiresOn: '2026-02-01' });
    expect(readWaiverRequest(form(' ', 'soon'))).toEqual({
      errors: {
        waiver_reason: 'A reason is required to request a waiver.',
        waiver_expiry: 'Choose the last day the waiver counts.',
      },
    });
    expect(readWaiverRejectReason(form(''))).toEqual({ error: 'A reason is required to reject.' });
    expect(readWaiverRejectReason(form('x'.repeat(2001)))).toEqual({ error: 'Keep the reason under 2000 characters.' });
    expect(readWaiverRejectReason(form(' no '))).toEqual({ reason: 'no' });
  });
});

describe('payloads read back', () => {
  it('refuse a value longer than Slack lets this app write, even when it parses', () => {
    const pad = (json: string, to: number) => json + ' '.repeat(to - json.length);
    const signoff = encodeSignoffValue({ evaluationId: 'ev-1', digest: DIGEST });
    expect(decodeSignoffValue(pad(signoff, 2000))).toEqual({ evaluationId: 'ev-1', digest: DIGEST });
    expect(decodeSignoffValue(pad(signoff, 2001))).toBeNull();
    const waiver = encodeWaiverValue({ evaluationId: 'ev-1', digest: DIGEST, check: 'test.target' });
    expect(decodeWaiverValue(pad(waiver, 2000))).toEqual({
      evaluationId: 'ev-1',
      digest: DIGEST,
      check: 'test.target',
    });
    expect(decodeWaiverValue(pad(waiver, 2001))).toBeNull();
    const reject = encodeRejectMetadata({ evaluationId: 'ev-1', digest: DIGEST, role: 'product' });
    expect(decodeRejectMetadata(pad(reject, 3000))).toEqual({ evaluationId: 'ev-1', digest: DIGEST, role: 'product' });
    expect(decodeRejectMetadata(pad(reject, 3001))).toBeNull();
    const meta = encodeWaiverMetadata({ evaluationId: 'ev-1', digest: DIGEST, check: 'test.target' });
    expect(decodeWaiverMetadata(pad(meta, 3001))).toBeNull();
  });

  it('refuse what is not JSON, or not the schema', () => {
    for (const raw of ['', 'x', '{', 'null', '[]', '{"e":"ev-1"}', `{"e":"ev-1","d":"${DIGEST}","x":1}`, 42]) {
      expect(decodeSignoffValue(raw)).toBeNull();
      expect(decodeWaiverValue(raw)).toBeNull();
      expect(decodeRejectMetadata(raw)).toBeNull();
      expect(decodeWaiverMetadata(raw)).toBeNull();
    }
  });
});

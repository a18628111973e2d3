import type { types } from '@slack/bolt';
import { z } from 'zod';
import type { SignoffRole } from '../../policy/schema.js';
import { escapeMrkdwn, LIMITS, mrkdwn, plain, truncate } from './limits.js';
import { REJECT_MODAL_CALLBACK, REJECT_REASON_BLOCK, REJECT_REASON_INPUT, ROLE_LABEL } from './signoff.js';

/** What the reject modal remembers between the click and the submission. */
export const RejectMetadataSchema = z.strictObject({
  e: z.string().min(1).max(200),
  d: z.string().regex(/^[0-9a-f]{8,128}$/),
  r: z.enum(['technical', 'product', 'compliance']),
  /** Channel the click came from, for the ephemeral answer (absent from App Home). */
  c: z.string().max(40).optional(),
});
export interface RejectMetadata {
  evaluationId: string;
  digest: string;
  role: SignoffRole;
  channel?: string;
}

export function encodeRejectMetadata(m: RejectMetadata): string {
  return JSON.stringify({ e: m.evaluationId, d: m.digest, r: m.role, ...(m.channel ? { c: m.channel } : {}) });
}

export function decodeRejectMetadata(raw: unknown): RejectMetadata | null {
  if (typeof raw !== 'string' || raw.length > LIMITS.privateMetadata) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  const r = RejectMetadataSchema.safeParse(parsed);
  if (!r.success) return null;
  return { evaluationId: r.data.e, digest: r.data.d, role: r.data.r, ...(r.data.c ? { channel: r.data.c } : {}) };
}

export const MAX_REASON_CHARS = 2000;

/** The modal asking a rejecting approver for the (required) reason. */
export function renderRejectModal(input: {
  metadata: RejectMetadata;
  modelName: string;
  run: string;
}): types.ModalView {
  return {
    type: 'modal',
    callback_id: REJECT_MODAL_CALLBACK,
    private_metadata: encodeRejectMetadata(input.metadata),
    title: plain('Reject deployment', LIMITS.modalTitle),
    submit: plain('Reject', LIMITS.modalButton),
    close: plain('Cancel', LIMITS.modalButton),
    blocks: [
      {
        type: 'section',
        text: mrkdwn(
          truncate(
            `You reject the deployment of *${escapeMrkdwn(input.modelName)}* (run \`${escapeMrkdwn(input.run)}\`) as *${ROLE_LABEL[input.metadata.role]}*. The gate becomes BLOCKED and the channel is told why.`,
            LIMITS.sectionText,
          ),
        ),
      },
      {
        type: 'input',
        block_id: REJECT_REASON_BLOCK,
        label: plain('Reason', LIMITS.inputLabel),
        element: {
          type: 'plain_text_input',
          action_id: REJECT_REASON_INPUT,
          multiline: true,
          min_length: 1,
          max_length: MAX_REASON_CHARS,
          placeholder: plain('What must change before this model may be deployed?', 150),
        },
      },
    ],
  };
}

/** The reason from a view_submission's state, or an error message for the input block. */
export function readRejectReason(values: unknown): { reason: string } | { error: string } {
  const v = (values as Record<string, Record<string, { value?: unknown }>> | undefined)?.[REJECT_REASON_BLOCK]?.[
    REJECT_REASON_INPUT
  ]?.value;
  const reason = typeof v === 'string' ? v.trim() : '';
  if (reason.length === 0) return { error: 'A reason is required to reject.' };
  if (reason.length > MAX_REASON_CHARS) return { error: `Keep the reason under ${MAX_REASON_CHARS} characters.` };
  return { reason };
}

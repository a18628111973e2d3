import type { types } from '@slack/bolt';
import { z } from 'zod';
import type { SignoffRole } from '../../policy/schema.js';
import { MAX_WAIVER_DAYS, MAX_WAIVER_REASON_CHARS } from '../../waivers/waivers.js';
import { escapeMrkdwn, LIMITS, mrkdwn, plain, truncate } from './limits.js';
import { REJECT_MODAL_CALLBACK, REJECT_REASON_BLOCK, REJECT_REASON_INPUT, ROLE_LABEL } from './signoff.js';
import {
  WAIVER_EXPIRY_BLOCK,
  WAIVER_EXPIRY_INPUT,
  WAIVER_REASON_BLOCK,
  WAIVER_REASON_INPUT,
  WAIVER_REJECT_MODAL,
  WAIVER_REQUEST_MODAL,
} from './waivers.js';

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

/** What the waiver modals remember between the click and the submission. */
export const WaiverMetadataSchema = z.strictObject({
  e: z.string().min(1).max(200),
  d: z.string().regex(/^[0-9a-f]{8,128}$/),
  c: z.string().regex(/^[a-z_]+\.[a-z_]+$/),
  /** The waiver and the role deciding it (reject modal only). */
  w: z
    .string()
    .regex(/^wv-[a-z0-9]+-[0-9a-f]+$/)
    .optional(),
  r: z.enum(['technical', 'product', 'compliance']).optional(),
  ch: z.string().max(40).optional(),
});
export interface WaiverMetadata {
  evaluationId: string;
  digest: string;
  check: string;
  waiverId?: string;
  role?: SignoffRole;
  channel?: string;
}

export function encodeWaiverMetadata(m: WaiverMetadata): string {
  return JSON.stringify({
    e: m.evaluationId,
    d: m.digest,
    c: m.check,
    ...(m.waiverId ? { w: m.waiverId } : {}),
    ...(m.role ? { r: m.role } : {}),
    ...(m.channel ? { ch: m.channel } : {}),
  });
}

export function decodeWaiverMetadata(raw: unknown): WaiverMetadata | null {
  if (typeof raw !== 'string' || raw.length > LIMITS.privateMetadata) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  const r = WaiverMetadataSchema.safeParse(parsed);
  if (!r.success) return null;
  return {
    evaluationId: r.data.e,
    digest: r.data.d,
    check: r.data.c,
    ...(r.data.w ? { waiverId: r.data.w } : {}),
    ...(r.data.r ? { role: r.data.r } : {}),
    ...(r.data.ch ? { channel: r.data.ch } : {}),
  };
}

/**
 * The requester asks for a waiver of a failing check: a reason (required) and the last day it
 * counts (a datepicker bounded to MAX_WAIVER_DAYS; checked again on submission). `checkTitle`
 * comes from code, the model and run names from artifacts (escaped).
 */
export function renderWaiverRequestModal(input: {
  metadata: WaiverMetadata;
  checkTitle: string;
  modelName: string;
  run: string;
  roles: readonly SignoffRole[];
  /** YYYY-MM-DD: the default and the latest expiry the datepicker offers. */
  initialDate: string;
  today: string;
  latestDate: string;
}): types.ModalView {
  return {
    type: 'modal',
    callback_id: WAIVER_REQUEST_MODAL,
    private_metadata: encodeWaiverMetadata(input.metadata),
    title: plain('Request waiver', LIMITS.modalTitle),
    submit: plain('Request', LIMITS.modalButton),
    close: plain('Cancel', LIMITS.modalButton),
    blocks: [
      {
        type: 'section',
        text: mrkdwn(
          truncate(
            `You ask to accept that *${escapeMrkdwn(input.checkTitle)}* (\`${input.metadata.check}\`) fails for *${escapeMrkdwn(input.modelName)}* (run \`${escapeMrkdwn(input.run)}\`). It counts once ${input.roles.map((r) => ROLE_LABEL[r]).join(' and ')} approved it, only for these artifacts and this policy, and until the day you choose (at most ${MAX_WAIVER_DAYS} days, through ${input.latestDate}). It is recorded in the final report's Final Sign-Off block.`,
            LIMITS.sectionText,
          ),
        ),
      },
      {
        type: 'input',
        block_id: WAIVER_REASON_BLOCK,
        label: plain('Why may this model ship with this item failing?', LIMITS.inputLabel),
        element: {
          type: 'plain_text_input',
          action_id: WAIVER_REASON_INPUT,
          multiline: true,
          min_length: 1,
          max_length: MAX_WAIVER_REASON_CHARS,
          placeholder: plain('e.g. Product accepts 78% for the pilot; retraining with the new labels is planned', 150),
        },
      },
      {
        type: 'input',
        block_id: WAIVER_EXPIRY_BLOCK,
        label: plain(`Valid until (last day, UTC; ${input.today} – ${input.latestDate})`, LIMITS.inputLabel),
        element: { type: 'datepicker', action_id: WAIVER_EXPIRY_INPUT, initial_date: input.initialDate },
      },
    ],
  };
}

/** The reason and the expiry date from a waiver request submission (bounds are checked by the caller). */
export function readWaiverRequest(
  values: unknown,
): { reason: string; expiresOn: string } | { errors: Record<string, string> } {
  const v = values as Record<string, Record<string, { value?: unknown; selected_date?: unknown }>> | undefined;
  const reasonRaw = v?.[WAIVER_REASON_BLOCK]?.[WAIVER_REASON_INPUT]?.value;
  const dateRaw = v?.[WAIVER_EXPIRY_BLOCK]?.[WAIVER_EXPIRY_INPUT]?.selected_date;
  const reason = typeof reasonRaw === 'string' ? reasonRaw.trim() : '';
  const errors: Record<string, string> = {};
  if (reason.length === 0) errors[WAIVER_REASON_BLOCK] = 'A reason is required to request a waiver.';
  else if (reason.length > MAX_WAIVER_REASON_CHARS)
    errors[WAIVER_REASON_BLOCK] = `Keep the reason under ${MAX_WAIVER_REASON_CHARS} characters.`;
  if (typeof dateRaw !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(dateRaw))
    errors[WAIVER_EXPIRY_BLOCK] = 'Choose the last day the waiver counts.';
  if (Object.keys(errors).length > 0) return { errors };
  return { reason, expiresOn: dateRaw as string };
}

/** The approver rejecting a waiver gives a reason. */
export function renderWaiverRejectModal(input: { metadata: WaiverMetadata; checkTitle: string }): types.ModalView {
  return {
    type: 'modal',
    callback_id: WAIVER_REJECT_MODAL,
    private_metadata: encodeWaiverMetadata(input.metadata),
    title: plain('Reject waiver', LIMITS.modalTitle),
    submit: plain('Reject', LIMITS.modalButton),
    close: plain('Cancel', LIMITS.modalButton),
    blocks: [
      {
        type: 'section',
        text: mrkdwn(
          truncate(
            `You reject the waiver of *${escapeMrkdwn(input.checkTitle)}* (\`${input.metadata.check}\`)${input.metadata.role ? ` as *${ROLE_LABEL[input.metadata.role]}*` : ''}. The check keeps blocking the gate.`,
            LIMITS.sectionText,
          ),
        ),
      },
      {
        type: 'input',
        block_id: WAIVER_REASON_BLOCK,
        label: plain('Reason', LIMITS.inputLabel),
        element: {
          type: 'plain_text_input',
          action_id: WAIVER_REASON_INPUT,
          multiline: true,
          min_length: 1,
          max_length: MAX_REASON_CHARS,
        },
      },
    ],
  };
}

export function readWaiverRejectReason(values: unknown): { reason: string } | { error: string } {
  const v = (values as Record<string, Record<string, { value?: unknown }>> | undefined)?.[WAIVER_REASON_BLOCK]?.[
    WAIVER_REASON_INPUT
  ]?.value;
  const reason = typeof v === 'string' ? v.trim() : '';
  if (reason.length === 0) return { error: 'A reason is required to reject.' };
  if (reason.length > MAX_REASON_CHARS) return { error: `Keep the reason under ${MAX_REASON_CHARS} characters.` };
  return { reason };
}

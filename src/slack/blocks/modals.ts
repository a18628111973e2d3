import type { types } from '@slack/bolt';
import { z } from 'zod';
import type { SignoffRole } from '../../policy/schema.js';
import { MAX_WAIVER_DAYS, MAX_WAIVER_REASON_CHARS } from '../../waivers/waivers.js';
import { escapeMrkdwn, LIMITS, mrkdwn, plain, truncate } from './limits.js';
import { EVALUATION_FIELDS, readPayload, WAIVER_FIELDS } from './payload.js';
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
  ...EVALUATION_FIELDS,
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
  const m = readPayload(raw, LIMITS.privateMetadata, RejectMetadataSchema);
  return m ? { evaluationId: m.e, digest: m.d, role: m.r, ...(m.c ? { channel: m.c } : {}) } : null;
}

export const MAX_REASON_CHARS = 2000;

/** The frame of every modal of this app: what submitting does (a section), then its inputs. */
function modal(m: {
  callbackId: string;
  privateMetadata: string;
  title: string;
  submit: string;
  intro: string;
  inputs: types.InputBlock[];
}): types.ModalView {
  return {
    type: 'modal',
    callback_id: m.callbackId,
    private_metadata: m.privateMetadata,
    title: plain(m.title, LIMITS.modalTitle),
    submit: plain(m.submit, LIMITS.modalButton),
    close: plain('Cancel', LIMITS.modalButton),
    blocks: [{ type: 'section', text: mrkdwn(truncate(m.intro, LIMITS.sectionText)) }, ...m.inputs],
  };
}

/** A required multi-line reason. */
function reasonInput(m: {
  blockId: string;
  actionId: string;
  label: string;
  maxLength: number;
  placeholder?: string;
}): types.InputBlock {
  return {
    type: 'input',
    block_id: m.blockId,
    label: plain(m.label, LIMITS.inputLabel),
    element: {
      type: 'plain_text_input',
      action_id: m.actionId,
      multiline: true,
      min_length: 1,
      max_length: m.maxLength,
      ...(m.placeholder ? { placeholder: plain(m.placeholder, 150) } : {}),
    },
  };
}

/** The trimmed reason of a submission, or the message for its input block. */
function readReason(
  values: unknown,
  at: { blockId: string; actionId: string; maxLength: number; required: string },
): { reason: string } | { error: string } {
  const v = (values as Record<string, Record<string, { value?: unknown }>> | undefined)?.[at.blockId]?.[at.actionId]
    ?.value;
  const reason = typeof v === 'string' ? v.trim() : '';
  if (reason.length === 0) return { error: at.required };
  if (reason.length > at.maxLength) return { error: `Keep the reason under ${at.maxLength} characters.` };
  return { reason };
}

const REJECT_REASON = { blockId: REJECT_REASON_BLOCK, actionId: REJECT_REASON_INPUT, maxLength: MAX_REASON_CHARS };
const WAIVER_REJECT_REASON = {
  blockId: WAIVER_REASON_BLOCK,
  actionId: WAIVER_REASON_INPUT,
  maxLength: MAX_REASON_CHARS,
};
const WAIVER_REQUEST_REASON = {
  blockId: WAIVER_REASON_BLOCK,
  actionId: WAIVER_REASON_INPUT,
  maxLength: MAX_WAIVER_REASON_CHARS,
};

/** The modal asking a rejecting approver for the (required) reason. */
export function renderRejectModal(input: {
  metadata: RejectMetadata;
  modelName: string;
  run: string;
}): types.ModalView {
  return modal({
    callbackId: REJECT_MODAL_CALLBACK,
    privateMetadata: encodeRejectMetadata(input.metadata),
    title: 'Reject deployment',
    submit: 'Reject',
    intro: `You reject the deployment of *${escapeMrkdwn(input.modelName)}* (run \`${escapeMrkdwn(input.run)}\`) as *${ROLE_LABEL[input.metadata.role]}*. The gate becomes BLOCKED and the channel is told why.`,
    inputs: [
      reasonInput({
        ...REJECT_REASON,
        label: 'Reason',
        placeholder: 'What must change before this model may be deployed?',
      }),
    ],
  });
}

/** The reason from a view_submission's state, or an error message for the input block. */
export function readRejectReason(values: unknown): { reason: string } | { error: string } {
  return readReason(values, { ...REJECT_REASON, required: 'A reason is required to reject.' });
}

/** What the waiver modals remember between the click and the submission. */
export const WaiverMetadataSchema = z.strictObject({
  ...EVALUATION_FIELDS,
  /** The check; the waiver and the role deciding it (reject modal only). */
  ...WAIVER_FIELDS,
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
  const m = readPayload(raw, LIMITS.privateMetadata, WaiverMetadataSchema);
  if (!m) return null;
  return {
    evaluationId: m.e,
    digest: m.d,
    check: m.c,
    ...(m.w ? { waiverId: m.w } : {}),
    ...(m.r ? { role: m.r } : {}),
    ...(m.ch ? { channel: m.ch } : {}),
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
  return modal({
    callbackId: WAIVER_REQUEST_MODAL,
    privateMetadata: encodeWaiverMetadata(input.metadata),
    title: 'Request waiver',
    submit: 'Request',
    intro: `You ask to accept that *${escapeMrkdwn(input.checkTitle)}* (\`${input.metadata.check}\`) fails for *${escapeMrkdwn(input.modelName)}* (run \`${escapeMrkdwn(input.run)}\`). It counts once ${input.roles.map((r) => ROLE_LABEL[r]).join(' and ')} approved it, only for these artifacts and this policy, and until the day you choose (at most ${MAX_WAIVER_DAYS} days, through ${input.latestDate}). It is recorded in the final report's Final Sign-Off block.`,
    inputs: [
      reasonInput({
        ...WAIVER_REQUEST_REASON,
        label: 'Why may this model ship with this item failing?',
        placeholder: 'e.g. Product accepts 78% for the pilot; retraining with the new labels is planned',
      }),
      {
        type: 'input',
        block_id: WAIVER_EXPIRY_BLOCK,
        label: plain(`Valid until (last day, UTC; ${input.today} – ${input.latestDate})`, LIMITS.inputLabel),
        element: { type: 'datepicker', action_id: WAIVER_EXPIRY_INPUT, initial_date: input.initialDate },
      },
    ],
  });
}

/** The reason and the expiry date from a waiver request submission (bounds are checked by the caller). */
export function readWaiverRequest(
  values: unknown,
): { reason: string; expiresOn: string } | { errors: Record<string, string> } {
  const v = values as Record<string, Record<string, { selected_date?: unknown }>> | undefined;
  const read = readReason(values, { ...WAIVER_REQUEST_REASON, required: 'A reason is required to request a waiver.' });
  const dateRaw = v?.[WAIVER_EXPIRY_BLOCK]?.[WAIVER_EXPIRY_INPUT]?.selected_date;
  const errors: Record<string, string> = {};
  if ('error' in read) errors[WAIVER_REASON_BLOCK] = read.error;
  if (typeof dateRaw !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(dateRaw))
    errors[WAIVER_EXPIRY_BLOCK] = 'Choose the last day the waiver counts.';
  if ('error' in read || Object.keys(errors).length > 0) return { errors };
  return { reason: read.reason, expiresOn: dateRaw as string };
}

/** The approver rejecting a waiver gives a reason. */
export function renderWaiverRejectModal(input: { metadata: WaiverMetadata; checkTitle: string }): types.ModalView {
  return modal({
    callbackId: WAIVER_REJECT_MODAL,
    privateMetadata: encodeWaiverMetadata(input.metadata),
    title: 'Reject waiver',
    submit: 'Reject',
    intro: `You reject the waiver of *${escapeMrkdwn(input.checkTitle)}* (\`${input.metadata.check}\`)${input.metadata.role ? ` as *${ROLE_LABEL[input.metadata.role]}*` : ''}. The check keeps blocking the gate.`,
    inputs: [reasonInput({ ...WAIVER_REJECT_REASON, label: 'Reason' })],
  });
}

export function readWaiverRejectReason(values: unknown): { reason: string } | { error: string } {
  return readReason(values, { ...WAIVER_REJECT_REASON, required: 'A reason is required to reject.' });
}

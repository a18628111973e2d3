/**
 * Waivers on the gate message: the Request waiver button of a failing item the team policy lets
 * be waived, the state of a requested waiver with its approve/reject buttons, and the
 * `⚠️ WAIVED` line of a check an effective waiver accepts. Pure Block Kit builders.
 */
import type { types } from '@slack/bolt';
import { z } from 'zod';
import type { CheckResult } from '../../checks/types.js';
import type { GateReport } from '../../engine.js';
import type { SignoffRole } from '../../policy/schema.js';
import { neverWaivableReason, type WaiverView, waiverRolesPending, waiverUntil } from '../../waivers/waivers.js';
import { escapeMrkdwn, LIMITS, mentionOf, mrkdwn, plain, truncate } from './limits.js';
import { EVALUATION_FIELDS, readPayload, WAIVER_FIELDS } from './payload.js';
import { ROLE_LABEL } from './signoff.js';

export const WAIVER_REQUEST_ACTION = 'waiver_request';
export const WAIVER_APPROVE_PREFIX = 'waiver_approve_';
export const WAIVER_REJECT_PREFIX = 'waiver_reject_';
export const WAIVER_APPROVE_ACTION = /^waiver_approve_(technical|product|compliance)$/;
export const WAIVER_REJECT_ACTION = /^waiver_reject_(technical|product|compliance)$/;
export const WAIVER_REQUEST_MODAL = 'waiver_request_modal';
export const WAIVER_REJECT_MODAL = 'waiver_reject_modal';
export const WAIVER_REASON_BLOCK = 'waiver_reason';
export const WAIVER_REASON_INPUT = 'waiver_reason_input';
export const WAIVER_EXPIRY_BLOCK = 'waiver_expiry';
export const WAIVER_EXPIRY_INPUT = 'waiver_expiry_input';

/** What a waiver button carries: evaluation, the digest the message showed, the check, and the waiver (approve/reject). */
const WaiverValueSchema = z.strictObject({
  ...EVALUATION_FIELDS,
  ...WAIVER_FIELDS,
});
export interface WaiverButtonValue {
  evaluationId: string;
  digest: string;
  check: string;
  waiverId?: string;
}

export function encodeWaiverValue(v: WaiverButtonValue): string {
  return JSON.stringify({ e: v.evaluationId, d: v.digest, c: v.check, ...(v.waiverId ? { w: v.waiverId } : {}) });
}

/** Null for anything that is not a value we wrote (forged or garbled payloads). */
export function decodeWaiverValue(raw: unknown): WaiverButtonValue | null {
  const v = readPayload(raw, LIMITS.buttonValue, WaiverValueSchema);
  return v ? { evaluationId: v.e, digest: v.d, check: v.c, ...(v.w ? { waiverId: v.w } : {}) } : null;
}

export function waiverRoleFromAction(actionId: string): SignoffRole | null {
  const m = WAIVER_APPROVE_ACTION.exec(actionId) ?? WAIVER_REJECT_ACTION.exec(actionId);
  return m ? (m[1] as SignoffRole) : null;
}

function approvedBy(w: WaiverView): string {
  return w.approvals.map((a) => `${mentionOf(a.user)} (${ROLE_LABEL[a.role]})`).join(', ');
}

/** The latest waiver of a check on this report's digests (the store keeps one per check and pair). */
export function waiverOf(report: Pick<GateReport, 'waivers'>, checkId: string): WaiverView | undefined {
  return report.waivers.find((w) => w.check === checkId);
}

/** `⚠️ WAIVED` with who approved, why and until when: the line of a check an effective waiver accepts. */
export function waivedText(c: Pick<CheckResult, 'title' | 'id'>, w: WaiverView): string {
  return `⚠️ WAIVED *${escapeMrkdwn(c.title)}* (\`${c.id}\`) — approved by ${approvedBy(w)} · until ${waiverUntil(w.expires_at)} · requested by ${mentionOf(w.requested_by)}: “${escapeMrkdwn(truncate(w.reason, 300))}”`;
}

/** The state of a waiver that does not (or no longer) count, shown under its failing item. */
export function waiverStateText(w: WaiverView): string | null {
  const reason = `“${escapeMrkdwn(truncate(w.reason, 500))}”`;
  switch (w.standing) {
    case 'awaiting': {
      const done = w.approvals.length > 0 ? ` · approved so far by ${approvedBy(w)}` : '';
      const pending = waiverRolesPending(w)
        .map((r) => ROLE_LABEL[r])
        .join(', ');
      return `⏳ *Waiver requested* by ${mentionOf(w.requested_by)} until ${waiverUntil(w.expires_at)}: ${reason}${done} · awaiting ${pending}`;
    }
    case 'rejected':
      return `🚫 *Waiver rejected* by ${w.rejection ? `${mentionOf(w.rejection.user)} (${ROLE_LABEL[w.rejection.role]})` : 'an approver'}: “${escapeMrkdwn(truncate(w.rejection?.reason ?? '', 500))}” (asked for by ${mentionOf(w.requested_by)}: ${reason})`;
    case 'expired':
      return `⌛ *Waiver expired* ${waiverUntil(w.expires_at)} (approved by ${approvedBy(w) || 'nobody'}: ${reason}); the check counts as failing again`;
    case 'void':
      return `➖ ~Waiver by ${mentionOf(w.requested_by)}~ (${escapeMrkdwn(w.void_reason ?? 'void')})`;
    default:
      return null;
  }
}

/**
 * Whether the Request waiver button belongs on a failing item: the team policy names the check,
 * it can be waived at all, it fails (not an error) without a security finding, and no waiver of
 * it is awaiting approval or effective.
 */
export function canRequestWaiver(report: Pick<GateReport, 'policy' | 'waivers'>, c: CheckResult): boolean {
  if (c.status !== 'fail' || c.security || neverWaivableReason(c.id)) return false;
  if (!report.policy.effective.waivers?.[c.id]) return false;
  const w = waiverOf(report, c.id);
  return !w || (w.standing !== 'awaiting' && w.standing !== 'effective');
}

export function requestWaiverButton(value: WaiverButtonValue): types.Button {
  return {
    type: 'button',
    action_id: WAIVER_REQUEST_ACTION,
    text: plain('Request waiver', LIMITS.buttonText),
    value: encodeWaiverValue(value),
  };
}

/** Approve/Reject buttons of an awaiting waiver, one pair per role still to decide. */
export function waiverDecisionBlock(
  w: WaiverView,
  base: { evaluationId: string; digest: string },
): types.KnownBlock | null {
  if (w.standing !== 'awaiting') return null;
  const value = encodeWaiverValue({ ...base, check: w.check, waiverId: w.id });
  const elements: types.Button[] = [];
  for (const role of waiverRolesPending(w)) {
    elements.push({
      type: 'button',
      action_id: `${WAIVER_APPROVE_PREFIX}${role}`,
      text: plain(`Approve waiver as ${ROLE_LABEL[role]}`, LIMITS.buttonText),
      style: 'primary',
      value,
      confirm: {
        title: plain('Approve this waiver?', LIMITS.confirmTitle),
        text: mrkdwn(
          truncate(
            `You accept that \`${w.check}\` fails for these artifacts until ${waiverUntil(w.expires_at)}, as ${ROLE_LABEL[role]}. This is recorded in the audit log and in the final report.`,
            LIMITS.confirmText,
          ),
          LIMITS.confirmText,
        ),
        confirm: plain('Approve', LIMITS.confirmButton),
        deny: plain('Cancel', LIMITS.confirmButton),
      },
    });
    elements.push({
      type: 'button',
      action_id: `${WAIVER_REJECT_PREFIX}${role}`,
      text: plain(`Reject waiver as ${ROLE_LABEL[role]}`, LIMITS.buttonText),
      style: 'danger',
      value,
    });
  }
  return elements.length > 0 ? { type: 'actions', block_id: `waiver_${w.check}`, elements } : null;
}

/** Lines of the Final Sign-Off block: every effective waiver (the checklist's "document in final_report.md"). */
export function waiverSignOffLines(report: Pick<GateReport, 'waivers' | 'checks'>): string[] {
  return report.waivers
    .filter((w) => w.standing === 'effective')
    .map((w) => {
      const title = report.checks.find((c) => c.id === w.check)?.title ?? w.check;
      return `• ⚠️ WAIVED ${escapeMrkdwn(title)} (\`${w.check}\`): approved by ${approvedBy(w)}, until ${waiverUntil(w.expires_at)} — “${escapeMrkdwn(truncate(w.reason, 300))}” (requested by ${mentionOf(w.requested_by)})`;
    });
}

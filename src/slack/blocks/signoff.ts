import type { types } from '@slack/bolt';
import { z } from 'zod';
import {
  currentSignoffs,
  type MinApprovals,
  type RoleTally,
  type SignoffRecord,
  tallyRole,
} from '../../gate/evaluate.js';
import { SIGNOFF_ROLES, type SignoffRole } from '../../policy/schema.js';
import type { SlackMessageRef } from '../../store/types.js';
import { escapeMrkdwn, LIMITS, mentionOf, mrkdwn, plain, truncate } from './limits.js';
import { messageLinkText } from './links.js';
import { EVALUATION_FIELDS, readPayload } from './payload.js';

export const ROLE_LABEL: Record<SignoffRole, string> = {
  technical: 'Technical Lead',
  product: 'Product Owner',
  compliance: 'Compliance',
};

export const APPROVE_ACTION_PREFIX = 'signoff_approve_';
export const REJECT_ACTION_PREFIX = 'signoff_reject_';
export const WITHDRAW_ACTION_PREFIX = 'signoff_withdraw_';
/** Matches every sign-off button; the role is the suffix. */
export const APPROVE_ACTION = /^signoff_approve_(technical|product|compliance)$/;
export const REJECT_ACTION = /^signoff_reject_(technical|product|compliance)$/;
export const WITHDRAW_ACTION = /^signoff_withdraw_(technical|product|compliance)$/;
export const REJECT_MODAL_CALLBACK = 'signoff_reject_modal';
export const REJECT_REASON_BLOCK = 'reason';
export const REJECT_REASON_INPUT = 'reason_input';

/**
 * What a sign-off button carries: the evaluation and the artifact digest the message showed,
 * so a click on a message rendered before the run's files changed is detected.
 */
const ButtonValueSchema = z.strictObject(EVALUATION_FIELDS);
export type SignoffButtonValue = { evaluationId: string; digest: string };

export function encodeSignoffValue(v: SignoffButtonValue): string {
  const s = JSON.stringify({ e: v.evaluationId, d: v.digest });
  if (s.length > LIMITS.buttonValue) throw new Error('sign-off button value exceeds Slack limit');
  return s;
}

/** Returns null for anything that is not a value we wrote (forged or garbled payloads). */
export function decodeSignoffValue(raw: unknown): SignoffButtonValue | null {
  const v = readPayload(raw, LIMITS.buttonValue, ButtonValueSchema);
  return v ? { evaluationId: v.e, digest: v.d } : null;
}

export function roleFromAction(actionId: string): SignoffRole | null {
  const m = APPROVE_ACTION.exec(actionId) ?? REJECT_ACTION.exec(actionId) ?? WITHDRAW_ACTION.exec(actionId);
  return m ? (m[1] as SignoffRole) : null;
}

/** "2024-05-01 14:03 UTC" */
export function formatWhen(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export interface SignoffSectionInput {
  evaluationId: string;
  digest: string;
  modelName: string;
  requiredRoles: readonly SignoffRole[];
  /** Sign-offs recorded on this evaluation (any digest). */
  signoffs: readonly SignoffRecord[];
  /** Distinct approvals per role (the policy's signoff.min_approvals; default 1). */
  minApprovals?: MinApprovals | undefined;
  /** Buttons are live: no automated check failing or pending, not superseded, nothing rejected. */
  live: boolean;
  /** Why buttons are not live (shown instead of them). */
  closedReason?: string;
  superseded: boolean;
}

export function approveButton(role: SignoffRole, value: string, modelName: string, digest: string): types.Button {
  return {
    type: 'button',
    action_id: `${APPROVE_ACTION_PREFIX}${role}`,
    text: plain('Approve', LIMITS.buttonText),
    style: 'primary',
    value,
    confirm: {
      title: plain(`Approve as ${ROLE_LABEL[role]}?`, LIMITS.confirmTitle),
      text: mrkdwn(
        truncate(
          `You approve the deployment of ${escapeMrkdwn(modelName)} (artifacts sha256 ${digest.slice(0, 12)}…) as ${ROLE_LABEL[role]}. This is recorded in the audit log.`,
          LIMITS.confirmText,
        ),
        LIMITS.confirmText,
      ),
      confirm: plain('Approve', LIMITS.confirmButton),
      deny: plain('Cancel', LIMITS.confirmButton),
    },
  };
}

export function rejectButton(role: SignoffRole, value: string): types.Button {
  return {
    type: 'button',
    action_id: `${REJECT_ACTION_PREFIX}${role}`,
    text: plain('Reject', LIMITS.buttonText),
    style: 'danger',
    value,
  };
}

/** Withdraws the current sign-off of a role (the only way, besides new artifacts, to clear a rejection). */
export function withdrawButton(role: SignoffRole, value: string, decision: SignoffRecord['decision']): types.Button {
  return {
    type: 'button',
    action_id: `${WITHDRAW_ACTION_PREFIX}${role}`,
    text: plain(decision === 'rejected' ? 'Withdraw rejection' : 'Withdraw approval', LIMITS.buttonText),
    value,
    confirm: {
      title: plain(`Withdraw the ${ROLE_LABEL[role]} sign-off?`, LIMITS.confirmTitle),
      text: mrkdwn(
        decision === 'rejected'
          ? 'The rejection stops counting for every evaluation of these artifacts under this policy, and the role must be signed again. This is recorded in the audit log.'
          : 'Your approval stops counting for every evaluation of these artifacts under this policy (a PASSED gate is re-opened and the channel told). This is recorded in the audit log.',
        LIMITS.confirmText,
      ),
      confirm: plain('Withdraw', LIMITS.confirmButton),
      deny: plain('Cancel', LIMITS.confirmButton),
    },
  };
}

function approvedText(s: SignoffRecord): string {
  return `${mentionOf(s.user)} on ${formatWhen(s.at)}${s.expires_at ? ` · expires ${formatWhen(s.expires_at)}` : ''}`;
}

function rejectedText(role: SignoffRole, s: SignoffRecord): string {
  return `❌ *${ROLE_LABEL[role]}*: rejected by ${mentionOf(s.user)} on ${formatWhen(s.at)} — “${escapeMrkdwn(truncate(s.reason ?? '', 500))}” (stays until a ${ROLE_LABEL[role]} approver withdraws it or the artifacts change)`;
}

/** "1 of 2" when a role needs more than one approval (nothing for the usual single approval). */
export function approvalCount(t: Pick<RoleTally, 'approvals' | 'needed'>): string {
  return t.needed > 1 ? `${t.approvals.length} of ${t.needed}` : '';
}

function signoffLine(role: SignoffRole, input: SignoffSectionInput): string {
  const t = tallyRole(input.signoffs, input.digest, role, input.minApprovals?.[role] ?? 1);
  const current = [...t.rejections, ...t.approvals];
  const expired = input.signoffs.filter((s) => s.role === role && s.digest === input.digest && s.expired);
  const stale = input.signoffs.filter((s) => s.role === role && s.digest !== input.digest);
  const required = input.requiredRoles.includes(role);
  const count = approvalCount(t);
  const parts: string[] = [];
  if (current.length > 0 && input.superseded) {
    for (const s of current)
      parts.push(
        `➖ *${ROLE_LABEL[role]}*: ~${s.decision} by ${mentionOf(s.user)} on ${formatWhen(s.at)}~ (superseded)`,
      );
  } else if (t.rejections.length > 0) {
    for (const s of t.rejections) parts.push(rejectedText(role, s));
    if (t.approvals.length > 0) parts.push(`   approved by ${t.approvals.map(approvedText).join('; ')}`);
  } else if (t.approved) {
    parts.push(
      `✅ *${ROLE_LABEL[role]}*${count ? ` (${count})` : ''}: approved by ${t.approvals.map(approvedText).join('; ')}`,
    );
  } else if (t.approvals.length > 0) {
    const missing = t.needed - t.approvals.length;
    parts.push(
      `${required ? '⏳' : '➖'} *${ROLE_LABEL[role]}*: ${count} approvals — approved by ${t.approvals.map(approvedText).join('; ')}${required ? `; awaiting ${missing} more` : ' (not required by the policy)'}`,
    );
  } else {
    parts.push(
      required
        ? `⏳ *${ROLE_LABEL[role]}*: awaiting approval${count ? ` (${count})` : ''}`
        : `➖ *${ROLE_LABEL[role]}*: not required by the policy`,
    );
  }
  for (const s of expired)
    parts.push(
      `   ⌛ ~approved by ${mentionOf(s.user)} on ${formatWhen(s.at)}~ (expired ${formatWhen(s.expires_at ?? s.at)}: older than the policy's signoff.max_age_days; sign again)`,
    );
  for (const s of stale)
    parts.push(`   ~${s.decision} by ${mentionOf(s.user)} on ${formatWhen(s.at)}~ (superseded: artifacts changed)`);
  return parts.join('\n');
}

/**
 * The sign-off part of the gate message: one line per role ("1 of 2" when a role needs several
 * approvers), Approve/Reject while a required role still needs approvals and sign-off is live,
 * and Withdraw wherever the role holds a sign-off (each person withdraws their own; a rejection
 * is the role's).
 */
export function renderSignoffSection(input: SignoffSectionInput): types.KnownBlock[] {
  const blocks: types.KnownBlock[] = [{ type: 'section', text: mrkdwn('*Stakeholder Approval*') }];
  const value = encodeSignoffValue({ evaluationId: input.evaluationId, digest: input.digest });
  const current = currentSignoffs(input.signoffs, input.digest);
  const rejected = current.some((s) => s.decision === 'rejected');
  for (const role of SIGNOFF_ROLES) {
    blocks.push({ type: 'section', text: mrkdwn(signoffLine(role, input)) });
    const t = tallyRole(input.signoffs, input.digest, role, input.minApprovals?.[role] ?? 1);
    const signed = t.rejections.length > 0 || t.approvals.length > 0;
    const elements: types.Button[] = [];
    if (input.live && !input.superseded && !rejected && !t.approved && input.requiredRoles.includes(role))
      elements.push(approveButton(role, value, input.modelName, input.digest), rejectButton(role, value));
    if (signed && !input.superseded)
      elements.push(withdrawButton(role, value, t.rejections.length > 0 ? 'rejected' : 'approved'));
    if (elements.length > 0) blocks.push({ type: 'actions', block_id: `signoff_${role}`, elements });
  }
  if (!input.live && input.closedReason)
    blocks.push({ type: 'context', elements: [mrkdwn(input.closedReason, LIMITS.contextText)] });
  return blocks;
}

/**
 * The notification-channel message when a withdrawal takes a PASSED gate back to PENDING: who
 * withdrew which role's sign-off, that the gate is re-opened (its attestation no longer stands),
 * and a link to the gate message where the role can be signed again.
 */
export function renderReopenedNotification(input: {
  modelName: string;
  run: string;
  evaluationId: string;
  role: SignoffRole;
  withdrawnBy: string;
  withdrawn: SignoffRecord;
  message: SlackMessageRef | null;
}): { text: string; blocks: types.KnownBlock[] } {
  const what = input.withdrawn.decision === 'rejected' ? 'rejection' : 'approval';
  const by = input.withdrawn.user === input.withdrawnBy ? 'their' : `${mentionOf(input.withdrawn.user)}'s`;
  const headline = `↩️ Gate re-opened: ${escapeMrkdwn(input.modelName)}`;
  const body = `${mentionOf(input.withdrawnBy)} withdrew ${by} *${ROLE_LABEL[input.role]}* ${what}. The gate is *PENDING* again: the ${ROLE_LABEL[input.role]} role must be signed again before deployment, and the earlier PASSED result (and its attestation) no longer stands. ${messageLinkText(input.message, 'Open the gate message', 'See the gate message in its channel')}.`;
  return {
    text: truncate(
      `${headline} — ${ROLE_LABEL[input.role]} ${what} withdrawn; the gate is PENDING again`,
      LIMITS.messageText,
    ),
    blocks: [
      { type: 'section', text: mrkdwn(truncate(`*${headline}*\n${body}`, LIMITS.sectionText)) },
      {
        type: 'context',
        elements: [
          mrkdwn(
            `Run \`${escapeMrkdwn(truncate(input.run, 500))}\` · evaluation \`${escapeMrkdwn(input.evaluationId)}\``,
            LIMITS.contextText,
          ),
        ],
      },
    ],
  };
}

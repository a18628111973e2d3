import type { types } from '@slack/bolt';
import { z } from 'zod';
import { currentSignoffs, type SignoffRecord } from '../../gate/evaluate.js';
import { SIGNOFF_ROLES, type SignoffRole } from '../../policy/schema.js';
import { escapeMrkdwn, LIMITS, mentionOf, mrkdwn, plain, truncate } from './limits.js';

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
const ButtonValueSchema = z.strictObject({ e: z.string().min(1).max(200), d: z.string().regex(/^[0-9a-f]{8,128}$/) });
export type SignoffButtonValue = { evaluationId: string; digest: string };

export function encodeSignoffValue(v: SignoffButtonValue): string {
  const s = JSON.stringify({ e: v.evaluationId, d: v.digest });
  if (s.length > LIMITS.buttonValue) throw new Error('sign-off button value exceeds Slack limit');
  return s;
}

/** Returns null for anything that is not a value we wrote (forged or garbled payloads). */
export function decodeSignoffValue(raw: unknown): SignoffButtonValue | null {
  if (typeof raw !== 'string' || raw.length > LIMITS.buttonValue) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  const r = ButtonValueSchema.safeParse(parsed);
  return r.success ? { evaluationId: r.data.e, digest: r.data.d } : null;
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
        `The ${decision === 'rejected' ? 'rejection' : 'approval'} stops counting for every evaluation of these artifacts under this policy, and the role must be signed again. This is recorded in the audit log.`,
        LIMITS.confirmText,
      ),
      confirm: plain('Withdraw', LIMITS.confirmButton),
      deny: plain('Cancel', LIMITS.confirmButton),
    },
  };
}

function signoffLine(role: SignoffRole, input: SignoffSectionInput): string {
  const current = currentSignoffs(input.signoffs, input.digest).find((s) => s.role === role);
  const expired = input.signoffs.filter((s) => s.role === role && s.digest === input.digest && s.expired);
  const stale = input.signoffs.filter((s) => s.role === role && s.digest !== input.digest);
  const required = input.requiredRoles.includes(role);
  const parts: string[] = [];
  if (current && !input.superseded) {
    parts.push(
      current.decision === 'approved'
        ? `✅ *${ROLE_LABEL[role]}*: approved by ${mentionOf(current.user)} on ${formatWhen(current.at)}${current.expires_at ? ` · expires ${formatWhen(current.expires_at)}` : ''}`
        : `❌ *${ROLE_LABEL[role]}*: rejected by ${mentionOf(current.user)} on ${formatWhen(current.at)} — “${escapeMrkdwn(truncate(current.reason ?? '', 500))}” (stays until a ${ROLE_LABEL[role]} approver withdraws it or the artifacts change)`,
    );
  } else if (current && input.superseded) {
    parts.push(
      `➖ *${ROLE_LABEL[role]}*: ~${current.decision} by ${mentionOf(current.user)} on ${formatWhen(current.at)}~ (superseded)`,
    );
  } else {
    parts.push(
      required ? `⏳ *${ROLE_LABEL[role]}*: awaiting approval` : `➖ *${ROLE_LABEL[role]}*: not required by the policy`,
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

/** The sign-off part of the gate message: one line per role, and its buttons when live. */
export function renderSignoffSection(input: SignoffSectionInput): types.KnownBlock[] {
  const blocks: types.KnownBlock[] = [{ type: 'section', text: mrkdwn('*Stakeholder Approval*') }];
  const value = encodeSignoffValue({ evaluationId: input.evaluationId, digest: input.digest });
  const current = currentSignoffs(input.signoffs, input.digest);
  const rejected = current.some((s) => s.decision === 'rejected');
  for (const role of SIGNOFF_ROLES) {
    blocks.push({ type: 'section', text: mrkdwn(signoffLine(role, input)) });
    const signed = current.find((s) => s.role === role);
    if (input.live && !input.superseded && !rejected && !signed && input.requiredRoles.includes(role)) {
      blocks.push({
        type: 'actions',
        block_id: `signoff_${role}`,
        elements: [approveButton(role, value, input.modelName, input.digest), rejectButton(role, value)],
      });
    } else if (signed && !input.superseded) {
      blocks.push({
        type: 'actions',
        block_id: `signoff_${role}`,
        elements: [withdrawButton(role, value, signed.decision)],
      });
    }
  }
  if (!input.live && input.closedReason)
    blocks.push({ type: 'context', elements: [mrkdwn(input.closedReason, LIMITS.contextText)] });
  return blocks;
}

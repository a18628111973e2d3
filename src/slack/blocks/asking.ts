import type { types } from '@slack/bolt';
import type { SignoffRole } from '../../policy/schema.js';
import type { SlackMessage } from './gate-message.js';
import { escapeMrkdwn, LIMITS, mentionOf, mrkdwn, plain, truncate } from './limits.js';
import { approveButton, encodeSignoffValue, ROLE_LABEL, rejectButton } from './signoff.js';

const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const GROUP_ID = /^S[A-Z0-9]{2,}$/;
const HTTPS_URL = /^https:\/\/[^\s<>|]+$/;

/**
 * Live mentions of a role's configured approvers: `<@U…>` for users, `<!subteam^S…>` for user
 * groups. Only ids of the configuration's shape become mentions (artifact text never reaches here).
 */
export function approverMentions(approvers: { users: readonly string[]; usergroups: readonly string[] }): string[] {
  return [
    ...approvers.users.filter((u) => USER_ID.test(u)).map((u) => `<@${u}>`),
    ...approvers.usergroups.filter((g) => GROUP_ID.test(g)).map((g) => `<!subteam^${g}>`),
  ];
}

/** One role still waiting for approvals, and whom to ask for it. */
export interface PendingRoleAsk {
  role: SignoffRole;
  /** "1 of 2" when the role needs more than one approval, else "". */
  count: string;
  mentions: string[];
}

export interface AskInput {
  modelName: string;
  run: string;
  roles: readonly PendingRoleAsk[];
  /** A reminder, this many hours after sign-off opened. */
  reminderAfterHours?: number | undefined;
}

function roleLines(roles: readonly PendingRoleAsk[]): string[] {
  return roles.map(
    (r) =>
      `• *${ROLE_LABEL[r.role]}*${r.count ? ` (${r.count})` : ''}: ${r.mentions.length > 0 ? r.mentions.join(' ') : '_no approver configured_'}`,
  );
}

export function formatHours(hours: number): string {
  const h = Math.round(hours * 10) / 10;
  return h === 1 ? '1 hour' : `${h} hours`;
}

/** The reply in the gate message's thread asking (or reminding) each pending role's approvers by name. */
export function renderAskMessage(input: AskInput): SlackMessage {
  const model = escapeMrkdwn(truncate(input.modelName, 200));
  const head =
    input.reminderAfterHours === undefined
      ? `🙋 *Sign-off is open* for *${model}*: every automated check has passed. Please review this gate message and approve or reject:`
      : `⏰ *Reminder*: sign-off for *${model}* has been waiting ${formatHours(input.reminderAfterHours)}. Still needed:`;
  const text = truncate([head, ...roleLines(input.roles)].join('\n'), LIMITS.sectionText);
  return {
    text: truncate(text, LIMITS.messageText),
    blocks: [{ type: 'section', text: mrkdwn(text) }],
  };
}

export interface SignoffDmInput {
  evaluationId: string;
  digest: string;
  modelName: string;
  run: string;
  requester: string;
  /** Roles this person may sign that still wait for approvals. */
  roles: readonly SignoffRole[];
  gateMessageUrl: string | null;
  reminderAfterHours?: number | undefined;
}

/** A DM to one approver with the same Approve/Reject buttons as the gate message (the click is checked the same way). */
export function renderSignoffDm(input: SignoffDmInput): SlackMessage {
  const model = escapeMrkdwn(truncate(input.modelName, 200));
  const roles = input.roles.map((r) => ROLE_LABEL[r]).join(', ');
  const head =
    input.reminderAfterHours === undefined
      ? `🙋 Your sign-off is requested as *${roles}* for *${model}* (run \`${escapeMrkdwn(truncate(input.run, 300))}\`, requested by ${mentionOf(input.requester)}). Every automated check has passed.`
      : `⏰ Reminder: your sign-off as *${roles}* for *${model}* (run \`${escapeMrkdwn(truncate(input.run, 300))}\`) has been waiting ${formatHours(input.reminderAfterHours)}.`;
  const link =
    input.gateMessageUrl && HTTPS_URL.test(input.gateMessageUrl)
      ? `<${input.gateMessageUrl}|Review the gate message> before you decide.`
      : 'Review the gate message in the channel before you decide.';
  const value = encodeSignoffValue({ evaluationId: input.evaluationId, digest: input.digest });
  const blocks: types.KnownBlock[] = [
    { type: 'section', text: mrkdwn(truncate(`${head}\n${link}`, LIMITS.sectionText)) },
  ];
  for (const role of input.roles) {
    blocks.push({ type: 'section', text: mrkdwn(`*${ROLE_LABEL[role]}*`) });
    blocks.push({
      type: 'actions',
      block_id: `signoff_${role}`,
      elements: [approveButton(role, value, input.modelName, input.digest), rejectButton(role, value)],
    });
  }
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(
        `Artifacts sha256 \`${input.digest.slice(0, 16)}\` · evaluation \`${escapeMrkdwn(input.evaluationId)}\``,
        LIMITS.contextText,
      ),
    ],
  });
  return {
    text: truncate(
      `${input.reminderAfterHours === undefined ? 'Sign-off requested' : 'Sign-off reminder'}: ${escapeMrkdwn(input.modelName)} as ${roles}`,
      LIMITS.messageText,
    ),
    blocks,
  };
}

export interface EscalationInput {
  modelName: string;
  run: string;
  evaluationId: string;
  requester: string;
  /** Roles still missing, with "1 of 2" where more than one approval is needed. */
  missing: readonly { role: SignoffRole; count: string }[];
  /** How long sign-off has been open. */
  hours: number;
  gateMessageUrl: string | null;
}

/** To the notification channel: which roles are still missing and for how long. */
export function renderEscalation(input: EscalationInput): SlackMessage {
  const model = escapeMrkdwn(truncate(input.modelName, 200));
  const missing = input.missing.map((m) => `• *${ROLE_LABEL[m.role]}*${m.count ? ` (${m.count})` : ''}`);
  const link =
    input.gateMessageUrl && HTTPS_URL.test(input.gateMessageUrl)
      ? ` · <${input.gateMessageUrl}|View the gate message>`
      : '';
  const text = truncate(
    [
      `🚨 *Sign-off overdue* for *${model}*: waiting ${formatHours(input.hours)} since sign-off opened. Still missing:`,
      ...missing,
    ].join('\n'),
    LIMITS.sectionText,
  );
  return {
    text: truncate(
      `Sign-off overdue for ${escapeMrkdwn(input.modelName)}: ${input.missing.map((m) => ROLE_LABEL[m.role]).join(', ')} missing after ${formatHours(input.hours)}`,
      LIMITS.messageText,
    ),
    blocks: [
      { type: 'header', text: plain(`Sign-off overdue: ${input.modelName}`, LIMITS.headerText) },
      { type: 'section', text: mrkdwn(text) },
      {
        type: 'context',
        elements: [
          mrkdwn(
            `Requested by ${mentionOf(input.requester)}${link} · run \`${escapeMrkdwn(truncate(input.run, 300))}\` · evaluation \`${escapeMrkdwn(input.evaluationId)}\``,
            LIMITS.contextText,
          ),
        ],
      },
    ],
  };
}

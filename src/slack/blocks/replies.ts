import type { types } from '@slack/bolt';
import type { GateStatus } from '../../gate/evaluate.js';
import { GATE_LABEL } from '../../report/common.js';
import type { SignoffRefusal } from '../../store/types.js';
import { USAGE } from '../command.js';
import type { SlackMessage } from './gate-message.js';
import { escapeMrkdwn, LIMITS, mrkdwn, truncate } from './limits.js';

export function renderHelp(): SlackMessage {
  return {
    text: 'readiness commands',
    blocks: [{ type: 'section', text: mrkdwn(`*Production readiness gate*\n${USAGE}`) }],
  };
}

export function renderUsageError(message: string): SlackMessage {
  return {
    text: truncate(`Usage error: ${escapeMrkdwn(message)}`, LIMITS.messageText),
    blocks: [
      { type: 'section', text: mrkdwn(truncate(`⚠️ ${escapeMrkdwn(message)}`, LIMITS.sectionText)) },
      { type: 'context', elements: [mrkdwn(USAGE, LIMITS.contextText)] },
    ],
  };
}

/** A plain ephemeral notice (refusals, confirmations). */
export function renderNotice(text: string): SlackMessage {
  return {
    text: truncate(text, LIMITS.messageText),
    blocks: [{ type: 'section', text: mrkdwn(truncate(text, LIMITS.sectionText)) }],
  };
}

export interface StatusRow {
  run: string;
  modelName: string;
  gate: GateStatus;
  evaluationId: string;
  outstanding: string[];
  blocking: string[];
}

export function renderStatus(rows: readonly StatusRow[], run?: string): SlackMessage {
  if (rows.length === 0) {
    return renderNotice(
      run
        ? `No evaluation of \`${escapeMrkdwn(run)}\` yet. Start one with \`/readiness run ${escapeMrkdwn(run)}\`.`
        : 'No open evaluations.',
    );
  }
  const blocks: types.KnownBlock[] = [];
  for (const r of rows.slice(0, 20)) {
    const detail =
      r.blocking.length > 0
        ? `blocked by ${r.blocking.join(', ')}`
        : r.outstanding.length > 0
          ? `waiting for ${r.outstanding.join(', ')}`
          : 'all checks passed and signed';
    blocks.push({
      type: 'section',
      text: mrkdwn(
        truncate(
          `${GATE_LABEL[r.gate]} *${escapeMrkdwn(r.modelName)}* — \`${escapeMrkdwn(r.run)}\` (evaluation \`${escapeMrkdwn(r.evaluationId)}\`)\n${escapeMrkdwn(detail)}`,
          LIMITS.sectionText,
        ),
      ),
    });
  }
  if (rows.length > 20)
    blocks.push({ type: 'context', elements: [mrkdwn(`… and ${rows.length - 20} more`, LIMITS.contextText)] });
  return {
    text: truncate(rows.map((r) => `${escapeMrkdwn(r.run)}: ${GATE_LABEL[r.gate]}`).join('; '), LIMITS.messageText),
    blocks,
  };
}

/** Reports up to this size are posted as a code-block message; larger ones as a file. */
export const INLINE_REPORT_MAX = LIMITS.sectionText - 16;

/** A small report as a message: the markdown inside a code block. */
export function renderInlineReport(markdown: string, run: string): SlackMessage | null {
  // Slack still decodes `<…>` sequences inside code blocks: the report quotes artifact text.
  const escaped = escapeMrkdwn(markdown);
  if (escaped.length > INLINE_REPORT_MAX || markdown.includes('```')) return null;
  return {
    text: `Readiness report for ${escapeMrkdwn(run)}`,
    blocks: [{ type: 'section', text: mrkdwn(['```', escaped, '```'].join('\n')) }],
  };
}

export function reportFilename(run: string): string {
  return `readiness-${run.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 100)}.md`;
}

/** Why a sign-off or a withdrawal was refused, as the clicker is told (the store gives the reason code). */
export function signoffRefusalText(reason: SignoffRefusal): string {
  switch (reason) {
    case 'not_authorised':
      return 'You are not an approver for this role.';
    case 'self_approval':
      return 'You requested this evaluation; someone else must sign it off.';
    case 'already_signed_other_role':
      return 'You already signed another role of this evaluation; one person signs at most one role.';
    case 'role_already_signed':
      return 'This role has already been signed for this evaluation.';
    case 'digest_changed':
      return "The run's artifacts changed since this message was posted; rerun the evaluation and sign the new one.";
    case 'checks_not_passing':
      return 'Sign-off opens once every automated check passes (warnings allowed); some are still failing or pending.';
    case 'superseded':
      return 'This evaluation was superseded by a newer one of the same run; sign the latest evaluation.';
    case 'unknown_evaluation':
      return 'This evaluation does not exist (any more).';
    case 'nothing_to_withdraw':
      return 'There is no sign-off of this role to withdraw.';
    case 'already_signed_this_role':
      return 'You already signed this role; each person counts once.';
    case 'not_own_signoff':
      return 'Only the approver who gave an approval can withdraw it (a rejection can be withdrawn by any member of the role).';
  }
}

import type { types } from '@slack/bolt';
import type { GateStatus } from '../../gate/evaluate.js';
import { GATE_LABEL } from '../../report/common.js';
import type { SignoffRefusal, WaiverRefusal } from '../../store/types.js';
import { MAX_WAIVER_DAYS, MAX_WAIVER_REASON_CHARS, type WaiverRequestProblem } from '../../waivers/waivers.js';
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

/** Why a waiver request or decision was refused, as the clicker is told (the store gives the reason code). */
export function waiverRefusalText(reason: WaiverRefusal): string {
  switch (reason) {
    case 'unknown_evaluation':
      return 'This evaluation does not exist (any more).';
    case 'superseded':
      return 'This evaluation was superseded by a newer one of the same run; use the latest evaluation.';
    case 'digest_changed':
      return "The run's artifacts changed since this message was posted; a waiver belongs to the artifacts it was asked for.";
    case 'not_requester':
      return 'Only the person who requested this evaluation may ask for a waiver.';
    case 'not_waivable':
      return 'The team policy does not allow waiving this check (security, integrity and consistency failures never can be).';
    case 'check_not_failing':
      return 'Only a failing check can be waived (an error means the check could not run: fix that instead).';
    case 'security_finding':
      return 'This check failed with a security finding; security findings are never waived.';
    case 'waiver_pending':
      return 'A waiver of this check is already waiting for approval.';
    case 'already_waived':
      return 'This check is already waived.';
    case 'not_authorised':
      return 'You are not an approver for this role.';
    case 'unknown_waiver':
      return 'This waiver is no longer the current one for this check.';
    case 'waiver_decided':
      return 'This waiver has already been decided.';
    case 'waiver_expired':
      return 'This waiver has expired; request a new one.';
    case 'role_not_required':
      return 'The policy does not ask this role to approve waivers of this check.';
    case 'self_approval':
      return 'You asked for this waiver (or requested the evaluation); someone else must approve it.';
    case 'role_already_decided':
      return 'This role has already approved this waiver.';
    case 'already_approved_other_role':
      return 'You already approved this waiver for another role; one person approves at most one role.';
  }
}

/** Why a waiver may not be requested (reason and expiry: as the modal's field errors), as the requester is told. */
export function waiverProblemText(p: WaiverRequestProblem): string {
  switch (p.kind) {
    case 'not_waivable':
      return p.never
        ? `\`${p.check}\` is ${p.never}; it can never be waived.`
        : `The team policy does not allow waiving \`${p.check}\` (see \`waivers\` in the policy).`;
    case 'security_finding':
      return `\`${p.check}\` failed with a security finding; security findings are never waived.`;
    case 'not_failing':
      return `\`${p.check}\` is ${p.status}; only a failing check can be waived.`;
    case 'reason':
      return p.problem === 'missing'
        ? 'A reason is required.'
        : `Keep the reason under ${MAX_WAIVER_REASON_CHARS} characters.`;
    case 'expiry':
      return p.problem === 'missing'
        ? 'Choose an expiry date.'
        : p.problem === 'past'
          ? 'The expiry date is in the past; choose today or a later day.'
          : `A waiver may run at most ${MAX_WAIVER_DAYS} days: choose ${p.latest} or earlier.`;
  }
}

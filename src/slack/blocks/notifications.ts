import type { types } from '@slack/bolt';
import type { GateReport } from '../../engine.js';
import { minApprovalsFor, tallyRole } from '../../gate/evaluate.js';
import { SIGNOFF_ROLES } from '../../policy/schema.js';
import { signOffFacts } from '../../report/common.js';
import { waivedCheckIds } from '../../waivers/waivers.js';
import { fitBlocks, mentionOf, overridesBlock, reportPointer, type SlackMessage } from './gate-message.js';
import { escapeMrkdwn, LIMITS, mrkdwn, plain, truncate, truncateWithPointer } from './limits.js';
import { approvalCount, ROLE_LABEL } from './signoff.js';
import { waivedText, waiverSignOffLines } from './waivers.js';

/** The checklist's "Gate Passed" deployment checklist, in its order. */
export const DEPLOYMENT_STEPS = [
  'Deploy model to staging environment',
  'Run smoke tests in staging',
  'Load test in staging (1000+ requests)',
  'Deploy to production (blue-green or canary)',
  'Monitor metrics for 24-48 hours',
  'Full rollout if metrics stable',
] as const;

/** The checklist's "Gate BLOCKED" next actions. */
export const BLOCKED_STEPS = [
  'Identify which verification failed',
  'Review relevant section for requirements',
  'Complete missing work',
  'Re-run evaluation or training if needed',
  'Complete checklist again',
] as const;

const MAX_ITEM_BLOCKS = 12;

function numbered(steps: readonly string[]): string {
  return steps.map((s, i) => `${i + 1}. ${s}`).join('\n');
}

/** The checklist's Final Sign-Off block, filled from the report. */
export function finalSignOffText(report: GateReport): string {
  const facts = signOffFacts(report);
  const lines = [
    '*Final Sign-Off*',
    `*Model Name*: ${escapeMrkdwn(report.model_name)}`,
    `*Test Accuracy*: ${facts.testAccuracy}`,
    `*Target Met*: ${facts.targetMet}`,
    '*Deployment Approved By*:',
  ];
  const required = report.policy.effective.signoff.required_roles;
  for (const role of SIGNOFF_ROLES) {
    const t = tallyRole(report.signoffs, report.digest, role, minApprovalsFor(report.policy.effective, role));
    const count = approvalCount(t);
    const who =
      t.approvals.length > 0
        ? `${t.approvals.map((s) => `${mentionOf(s.user)}, ${s.at.slice(0, 10)}`).join('; ')}${count ? ` (${count})` : ''}`
        : required.includes(role)
          ? `_pending_${count ? ` (${count})` : ''}`
          : '_not required_';
    lines.push(`• ${ROLE_LABEL[role]}: ${who}`);
  }
  const waived = waiverSignOffLines(report);
  if (waived.length > 0) lines.push('*Accepted with stakeholder approval (waivers)*:', ...waived);
  lines.push(`*Deployment Date*: _to be scheduled_`);
  return truncate(lines.join('\n'), LIMITS.sectionText);
}

function withOverrides(report: GateReport): types.KnownBlock[] {
  const b = overridesBlock(report);
  return b ? [b] : [];
}

/** Who asked for the evaluation and where its gate message is (a notification is read away from it). */
export interface NoticeLinks {
  /** Slack user id of the requester (or "cli:<name>"). */
  requester: string;
  /** The gate message's permalink (chat.getPermalink), when there is one. */
  gateMessageUrl?: string | null | undefined;
}

/** "Requested by <@U…> · <link|View the gate message>"; the link only for an https URL Slack gave us. */
export function noticeLinksText(links: NoticeLinks): string {
  const url = links.gateMessageUrl;
  const link = url && /^https:\/\/[^\s<>|]+$/.test(url) ? ` · <${url}|View the gate message>` : '';
  return `Requested by ${mentionOf(links.requester)}${link}`;
}

function runContext(report: GateReport, evaluationId: string, links?: NoticeLinks): types.KnownBlock {
  return {
    type: 'context',
    elements: [
      ...(links ? [mrkdwn(noticeLinksText(links), LIMITS.contextText)] : []),
      mrkdwn(
        `Run \`${escapeMrkdwn(truncate(report.run, 500))}\` · evaluation \`${escapeMrkdwn(evaluationId)}\` · artifacts sha256 \`${report.digest.slice(0, 16)}\``,
        LIMITS.contextText,
      ),
    ],
  };
}

/** Channel notification when the gate passes: Final Sign-Off block and the deployment steps. */
export function renderPassedNotification(report: GateReport, evaluationId: string, links?: NoticeLinks): SlackMessage {
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: plain(`✅ Gate PASSED: ${report.model_name}`, LIMITS.headerText) },
    {
      type: 'section',
      text: mrkdwn(
        'All checkboxes checked: the model is production-ready. *Next action*: deploy the model to production.',
      ),
    },
    { type: 'section', text: mrkdwn(finalSignOffText(report)) },
    { type: 'section', text: mrkdwn(`*Deployment checklist*\n${numbered(DEPLOYMENT_STEPS)}`) },
    ...withOverrides(report),
    runContext(report, evaluationId, links),
  ];
  return {
    text: truncate(
      `Gate PASSED for ${escapeMrkdwn(report.model_name)} (${escapeMrkdwn(report.run)}): deploy to production`,
      LIMITS.messageText,
    ),
    blocks,
  };
}

/** Channel notification when the gate is blocked: each failing item with evidence and remediation, or the rejection. */
export function renderBlockedNotification(report: GateReport, evaluationId: string, links?: NoticeLinks): SlackMessage {
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: plain(`❌ Gate BLOCKED: ${report.model_name}`, LIMITS.headerText) },
    {
      type: 'section',
      text: mrkdwn(
        'The model is *not* ready for production. Never deploy a model with incomplete production readiness checks.',
      ),
    },
  ];
  const items: string[] = [];
  for (const s of report.signoffs) {
    if (s.digest !== report.digest || s.decision !== 'rejected') continue;
    items.push(
      `❌ *Rejected by ${mentionOf(s.user)} (${ROLE_LABEL[s.role]})* on ${s.at.slice(0, 10)}\n> ${escapeMrkdwn(truncate(s.reason ?? 'no reason given', 2000)).replace(/\n/g, '\n> ')}`,
    );
  }
  const waived = waivedCheckIds(report.waivers);
  const waivedItems: string[] = [];
  for (const c of report.checks) {
    if (c.category === 'signoff' || (c.status !== 'fail' && c.status !== 'error')) continue;
    const w = report.waivers.find((x) => x.check === c.id && x.standing === 'effective');
    if (waived.has(c.id) && w) {
      waivedItems.push(waivedText(c, w));
      continue;
    }
    const lines = [`❌ *${escapeMrkdwn(c.title)}* (\`${c.id}\`, ${c.status}${c.security ? ', security finding' : ''})`];
    for (const e of c.evidence.slice(0, 5)) lines.push(`> ${escapeMrkdwn(truncate(e, 500))}`);
    if (c.evidence.length > 5) lines.push(`> … ${c.evidence.length - 5} more lines`);
    if (c.remediation) lines.push(`_If unchecked_: ${escapeMrkdwn(c.remediation)}`);
    items.push(lines.join('\n'));
  }
  for (const item of items.slice(0, MAX_ITEM_BLOCKS)) {
    blocks.push({
      type: 'section',
      text: mrkdwn(truncateWithPointer(item, LIMITS.sectionText, reportPointer(report.run))),
    });
  }
  if (items.length > MAX_ITEM_BLOCKS) {
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(
          `… and ${items.length - MAX_ITEM_BLOCKS} more blocking items (${reportPointer(report.run)})`,
          LIMITS.contextText,
        ),
      ],
    });
  }
  if (waivedItems.length > 0)
    blocks.push({
      type: 'section',
      text: mrkdwn(truncateWithPointer(waivedItems.join('\n'), LIMITS.sectionText, reportPointer(report.run))),
    });
  blocks.push({ type: 'section', text: mrkdwn(`*Next action*\n${numbered(BLOCKED_STEPS)}`) });
  blocks.push(...withOverrides(report));
  blocks.push(runContext(report, evaluationId, links));
  return {
    text: truncate(
      `Gate BLOCKED for ${escapeMrkdwn(report.model_name)} (${escapeMrkdwn(report.run)}): ${items.length} blocking item${items.length === 1 ? '' : 's'}`,
      LIMITS.messageText,
    ),
    blocks: fitBlocks(blocks, LIMITS.messageBlocks, report.run),
  };
}

import type { types } from '@slack/bolt';
import type { CheckResult } from '../../checks/types.js';
import type { GateReport } from '../../engine.js';
import { signoffsOpen } from '../../gate/evaluate.js';
import { GATE_LABEL, gateReason, groupByCategory, overrideLines, STATUS_ICON } from '../../report/common.js';
import { waivedCheckIds } from '../../waivers/waivers.js';
import { escapeMrkdwn, joinLines, LIMITS, mentionOf, mrkdwn, plain, truncate, truncateWithPointer } from './limits.js';
import { renderSignoffSection } from './signoff.js';
import {
  canRequestWaiver,
  requestWaiverButton,
  waivedText,
  waiverDecisionBlock,
  waiverOf,
  waiverStateText,
} from './waivers.js';

export interface SlackMessage {
  text: string;
  blocks: types.KnownBlock[];
}

export interface GateMessageInput {
  evaluationId: string;
  report: GateReport;
  /** Slack user id of the requester (or "cli:<name>"). */
  requester: string;
  /** Id of the evaluation that replaced this one (a rerun), if any. */
  supersededBy: string | null;
}

/** Most failing items shown with their remediation; the rest are counted and pointed to `report`. */
const MAX_FAILING_BLOCKS = 8;
const EVIDENCE_LINE = 280;

export function reportPointer(run: string): string {
  return `full text: \`/readiness report ${run}\``;
}

export { mentionOf } from './limits.js';

/** "parity 45 %" for a running heavy check (its label is the id's last part). */
export function progressText(c: Pick<CheckResult, 'id' | 'progress'> & { evidence?: readonly string[] }): string {
  // the worker's own label ("latency 40 % (400/1000)") when the store has added one, else the id's last part
  const own = /^([A-Za-z][\w-]*) \d+ %/.exec(c.evidence?.at(-1) ?? '')?.[1];
  const label = own ?? c.id.split('.').pop() ?? c.id;
  return c.progress === undefined ? 'running' : `${label} ${Math.floor(Math.max(0, Math.min(1, c.progress)) * 100)} %`;
}

/** One checklist line: icon, title, one line of evidence (or progress while running). */
export function checkLine(c: CheckResult): string {
  let detail: string;
  if (c.status === 'running') detail = progressText(c);
  else if (c.status === 'pending') detail = 'waiting';
  else detail = c.evidence[0] ? escapeMrkdwn(c.evidence[0]) : c.status;
  const sec = c.security ? ' 🛡️ security finding' : '';
  return truncate(`${STATUS_ICON[c.status]} *${escapeMrkdwn(c.title)}*${sec} — ${detail}`, EVIDENCE_LINE);
}

/** A failing item: evidence lines and the checklist's remediation. */
export function failingItemText(c: CheckResult, run: string): string {
  const evidence = c.evidence.slice(0, 5).map((e) => `> ${escapeMrkdwn(truncate(e, 500))}`);
  if (c.evidence.length > 5) evidence.push(`> … ${c.evidence.length - 5} more lines`);
  const lines = [
    `❌ *${escapeMrkdwn(c.title)}* (\`${c.id}\`, ${c.status}${c.security ? ', security finding' : ''})`,
    ...evidence,
  ];
  if (c.remediation) lines.push(`_If unchecked_: ${escapeMrkdwn(c.remediation)}`);
  return truncateWithPointer(lines.join('\n'), LIMITS.sectionText, reportPointer(run));
}

function failing(report: GateReport): CheckResult[] {
  const waived = waivedCheckIds(report.waivers);
  return report.checks.filter(
    (c) => c.category !== 'signoff' && (c.status === 'fail' || c.status === 'error') && !waived.has(c.id),
  );
}

/** Keeps a message inside the 50-block limit: the last kept block says what was left out. */
export function fitBlocks(blocks: types.KnownBlock[], max: number, run: string): types.KnownBlock[] {
  if (blocks.length <= max) return blocks;
  const kept = blocks.slice(0, max - 1);
  kept.push({
    type: 'context',
    elements: [
      mrkdwn(`… ${blocks.length - kept.length} more blocks not shown (${reportPointer(run)})`, LIMITS.contextText),
    ],
  });
  return kept;
}

/** What the run's readiness.yml and the command flags changed relative to the team policy, for approvers to see. */
export function overridesBlock(report: GateReport): types.KnownBlock | null {
  const lines = overrideLines(report);
  if (lines.length === 0) return null;
  const text = joinLines(
    ['*Run overrides of the team policy*', ...lines.map((l) => `• ${escapeMrkdwn(l)}`)],
    LIMITS.contextText,
    (n) => `… ${n} more (${reportPointer(report.run)})`,
  );
  return { type: 'context', elements: [mrkdwn(text, LIMITS.contextText)] };
}

export function fallbackText(report: GateReport): string {
  return truncate(
    `Production readiness for ${escapeMrkdwn(report.model_name)} (${escapeMrkdwn(report.run)}): ${GATE_LABEL[report.gate]}`,
    LIMITS.messageText,
  );
}

/** The live gate message in the channel, rendered from stored state only. */
export function renderGateMessage(input: GateMessageInput): SlackMessage {
  const { report } = input;
  const run = report.run;
  const blocks: types.KnownBlock[] = [];
  blocks.push({ type: 'header', text: plain(`Production readiness: ${report.model_name}`, LIMITS.headerText) });
  blocks.push({
    type: 'section',
    fields: [
      mrkdwn(`*Run*\n\`${escapeMrkdwn(truncate(run, 500))}\``, LIMITS.sectionField),
      mrkdwn(`*Requested by*\n${mentionOf(input.requester)}`, LIMITS.sectionField),
      mrkdwn(`*Target*\n${report.policy.effective.target_accuracy}% test accuracy`, LIMITS.sectionField),
      mrkdwn(`*Policy*\n${escapeMrkdwn(truncate(report.policy.name, 200))}`, LIMITS.sectionField),
    ],
  });
  const overrides = overridesBlock(report);
  if (overrides) blocks.push(overrides);
  // The same counts and reason as the CLI: sign-offs pending are named as such, never "0 pending".
  blocks.push({
    type: 'section',
    text: mrkdwn(`*Gate: ${GATE_LABEL[report.gate]}* · ${escapeMrkdwn(gateReason(report)).replace(/; /g, ' · ')}`),
  });
  if (input.supersededBy) {
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(
          `⚠️ Superseded by a newer evaluation (\`${escapeMrkdwn(input.supersededBy)}\`): sign there. Sign-offs belong to the artifacts and the policy, so they carry over only when both are unchanged.`,
          LIMITS.contextText,
        ),
      ],
    });
  }
  blocks.push({ type: 'divider' });
  const bad = failing(report);
  // Failing items appear once, in "Failing items" with their evidence and remediation.
  for (const g of groupByCategory(report.checks.filter((x) => x.category !== 'signoff' && !bad.includes(x)))) {
    const text = joinLines(
      [
        `*${g.title}*`,
        ...g.checks.map((c) => {
          const w = waiverOf(report, c.id);
          return w?.standing === 'effective' ? truncate(waivedText(c, w), 600) : checkLine(c);
        }),
      ],
      LIMITS.sectionText,
      (n) => `… ${n} more (${reportPointer(run)})`,
    );
    blocks.push({ type: 'section', text: mrkdwn(text) });
  }
  if (bad.length > 0) {
    blocks.push({ type: 'divider' });
    blocks.push({ type: 'section', text: mrkdwn(`*Failing items (${bad.length})*`) });
    for (const f of bad.slice(0, MAX_FAILING_BLOCKS)) {
      const base = { evaluationId: input.evaluationId, digest: report.digest };
      const live = input.supersededBy === null;
      blocks.push({
        type: 'section',
        text: mrkdwn(failingItemText(f, run)),
        ...(live && canRequestWaiver(report, f) ? { accessory: requestWaiverButton({ ...base, check: f.id }) } : {}),
      });
      const w = waiverOf(report, f.id);
      const state = w ? waiverStateText(w) : null;
      if (w && state) {
        blocks.push({ type: 'context', elements: [mrkdwn(state, LIMITS.contextText)] });
        const decide = live ? waiverDecisionBlock(w, base) : null;
        if (decide) blocks.push(decide);
      }
    }
    if (bad.length > MAX_FAILING_BLOCKS) {
      blocks.push({
        type: 'context',
        elements: [
          mrkdwn(
            `… and ${bad.length - MAX_FAILING_BLOCKS} more failing items (${reportPointer(run)})`,
            LIMITS.contextText,
          ),
        ],
      });
    }
  }
  blocks.push({ type: 'divider' });
  const open = signoffsOpen(report.checks, waivedCheckIds(report.waivers));
  const superseded = input.supersededBy !== null;
  let closedReason: string | undefined;
  if (superseded) closedReason = 'Sign-off is closed: this evaluation was superseded by a rerun.';
  else if (report.gate === 'blocked')
    closedReason = 'Sign-off is closed: the gate is blocked. Fix the failing items and `/readiness rerun` the run.';
  else if (!open) closedReason = 'Sign-off opens once every automated check has passed.';
  blocks.push(
    ...renderSignoffSection({
      evaluationId: input.evaluationId,
      digest: report.digest,
      modelName: report.model_name,
      requiredRoles: report.policy.effective.signoff.required_roles,
      minApprovals: report.policy.effective.signoff.min_approvals,
      signoffs: report.signoffs,
      live: open && !superseded && report.gate !== 'blocked',
      ...(closedReason ? { closedReason } : {}),
      superseded,
    }),
  );
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(`Artifacts sha256 \`${report.digest}\``, LIMITS.contextText),
      mrkdwn(
        `Policy sha256 \`${report.policy.digest.slice(0, 16)}\` · evaluation \`${escapeMrkdwn(input.evaluationId)}\``,
        LIMITS.contextText,
      ),
    ],
  });
  return { text: fallbackText(report), blocks: fitBlocks(blocks, LIMITS.messageBlocks, run) };
}

import type { types } from '@slack/bolt';
import type { GateStatus } from '../../gate/evaluate.js';
import type { SignoffRole } from '../../policy/schema.js';
import { GATE_LABEL } from '../../report/common.js';
import { mentionOf } from './gate-message.js';
import { escapeMrkdwn, LIMITS, mrkdwn, plain, truncate } from './limits.js';
import { approveButton, encodeSignoffValue, formatWhen, ROLE_LABEL, rejectButton } from './signoff.js';

export interface HomeEvaluation {
  evaluationId: string;
  run: string;
  modelName: string;
  gate: GateStatus;
  requester: string;
  createdAt: string;
  superseded: boolean;
}

export interface HomeWaiting {
  evaluationId: string;
  run: string;
  modelName: string;
  digest: string;
  role: SignoffRole;
  requester: string;
}

const MAX_WAITING = 15;
const MAX_RECENT = 20;

/** App Home: the sign-offs waiting for the viewer (with buttons) and recent evaluations. */
export function renderHome(input: {
  waiting: readonly HomeWaiting[];
  recent: readonly HomeEvaluation[];
}): types.HomeView {
  const blocks: types.KnownBlock[] = [{ type: 'header', text: plain('Production readiness gate', LIMITS.headerText) }];
  blocks.push({ type: 'section', text: mrkdwn(`*Sign-offs waiting for you* (${input.waiting.length})`) });
  if (input.waiting.length === 0)
    blocks.push({ type: 'context', elements: [mrkdwn('Nothing waiting for you.', LIMITS.contextText)] });
  for (const w of input.waiting.slice(0, MAX_WAITING)) {
    const value = encodeSignoffValue({ evaluationId: w.evaluationId, digest: w.digest });
    blocks.push({
      type: 'section',
      text: mrkdwn(
        truncate(
          `*${escapeMrkdwn(w.modelName)}* — \`${escapeMrkdwn(w.run)}\` · as *${ROLE_LABEL[w.role]}* · requested by ${mentionOf(w.requester)}`,
          LIMITS.sectionText,
        ),
      ),
    });
    blocks.push({
      type: 'actions',
      elements: [approveButton(w.role, value, w.modelName, w.digest), rejectButton(w.role, value)],
    });
  }
  if (input.waiting.length > MAX_WAITING) {
    blocks.push({
      type: 'context',
      elements: [mrkdwn(`… and ${input.waiting.length - MAX_WAITING} more`, LIMITS.contextText)],
    });
  }
  blocks.push({ type: 'divider' });
  blocks.push({ type: 'section', text: mrkdwn('*Recent evaluations*') });
  if (input.recent.length === 0)
    blocks.push({
      type: 'context',
      elements: [mrkdwn('No evaluations yet. Start one with `/readiness run <run>`.', LIMITS.contextText)],
    });
  const lines = input.recent
    .slice(0, MAX_RECENT)
    .map(
      (e) =>
        `${GATE_LABEL[e.gate]} *${escapeMrkdwn(e.modelName)}* — \`${escapeMrkdwn(e.run)}\` · ${mentionOf(e.requester)} · ${formatWhen(e.createdAt)}${e.superseded ? ' · _superseded_' : ''}`,
    );
  for (let i = 0; i < lines.length; i += 10) {
    blocks.push({ type: 'section', text: mrkdwn(truncate(lines.slice(i, i + 10).join('\n'), LIMITS.sectionText)) });
  }
  return { type: 'home', blocks: blocks.slice(0, LIMITS.viewBlocks) };
}

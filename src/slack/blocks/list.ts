import type { types } from '@slack/bolt';
import type { RoleTally } from '../../gate/evaluate.js';
import { GATE_LABEL } from '../../report/common.js';
import type { ListFilter } from '../command.js';
import type { SlackMessage } from './gate-message.js';
import { escapeMrkdwn, LIMITS, mentionOf, mrkdwn, truncate } from './limits.js';
import { messageLinkText } from './links.js';
import { formatWhen, ROLE_LABEL } from './signoff.js';

/** One open evaluation as `/readiness list` shows it. */
export interface ListRow {
  evaluationId: string;
  run: string;
  modelName: string;
  gate: keyof typeof GATE_LABEL;
  requester: string;
  createdAt: string;
  message: { channel: string; ts: string } | null;
  /** Automated checks not yet passing (pending or running), and failing ones. */
  outstandingChecks: string[];
  blockingChecks: string[];
  /** Required roles still needing approvals. */
  pendingRoles: Pick<RoleTally, 'role' | 'approvals' | 'needed'>[];
  /** Whether Approve buttons are live. */
  signoffOpen: boolean;
  /** `waiting`: the roles the viewer can sign. */
  yourRoles?: readonly string[];
}

/** Rows shown in one ephemeral reply (each a section block; Slack allows 50 blocks per message). */
export const LIST_MAX_ROWS = 20;

const TITLE: Record<ListFilter, string> = {
  open: 'Open evaluations',
  mine: 'Open evaluations you requested',
  waiting: 'Evaluations waiting for your sign-off',
};

const EMPTY: Record<ListFilter, string> = {
  open: 'No open evaluations. Start one with `/readiness run <run>`.',
  mine: 'You have no open evaluations.',
  waiting: 'Nothing is waiting for your sign-off.',
};

function ids(list: readonly string[], max = 6): string {
  const shown = list.slice(0, max).map((c) => `\`${escapeMrkdwn(c)}\``);
  return list.length > max ? `${shown.join(', ')} and ${list.length - max} more` : shown.join(', ');
}

/** What the evaluation waits for, in a few words. */
export function waitingText(r: ListRow): string {
  if (r.blockingChecks.length > 0)
    return `blocked by ${ids(r.blockingChecks)}${r.outstandingChecks.length > 0 ? `; still running: ${ids(r.outstandingChecks)}` : ''}`;
  if (r.outstandingChecks.length > 0) return `checks still running: ${ids(r.outstandingChecks)}`;
  if (r.pendingRoles.length === 0) return 'nothing (about to pass)';
  const roles = r.pendingRoles
    .map((t) => `${ROLE_LABEL[t.role]}${t.needed > 1 ? ` (${t.approvals.length} of ${t.needed})` : ''}`)
    .join(', ');
  return `sign-off: ${roles}${r.signoffOpen ? '' : ' (opens once every check passes)'}`;
}

function rowText(r: ListRow): string {
  const link = messageLinkText(r.message, 'gate message', 'no gate message yet');
  const yours =
    r.yourRoles && r.yourRoles.length > 0
      ? `\nYou can sign: ${r.yourRoles.map((role) => `*${ROLE_LABEL[role as keyof typeof ROLE_LABEL] ?? escapeMrkdwn(role)}*`).join(', ')}`
      : '';
  return truncate(
    `${GATE_LABEL[r.gate]} *${escapeMrkdwn(truncate(r.modelName, 200))}* — \`${escapeMrkdwn(truncate(r.run, 300))}\` · ${link}\nWaiting for ${waitingText(r)}\nRequested by ${mentionOf(r.requester)} on ${formatWhen(r.createdAt)} · evaluation \`${escapeMrkdwn(r.evaluationId)}\`${yours}`,
    LIMITS.sectionText,
  );
}

/**
 * The ephemeral answer to `/readiness list [mine|waiting]`: newest first, at most LIST_MAX_ROWS
 * rows, each with its run, status, what it waits for and a link to its gate message; every text
 * from a run (names, ids) escaped.
 */
export function renderEvaluationList(input: {
  filter: ListFilter;
  rows: readonly ListRow[];
  /** The open index had more entries than were read. */
  truncated?: boolean;
}): SlackMessage {
  const { filter, rows } = input;
  if (rows.length === 0 && !input.truncated)
    return { text: EMPTY[filter], blocks: [{ type: 'section', text: mrkdwn(EMPTY[filter]) }] };
  const shown = rows.slice(0, LIST_MAX_ROWS);
  const blocks: types.KnownBlock[] = [
    { type: 'section', text: mrkdwn(`*${TITLE[filter]}* (${rows.length}${input.truncated ? '+' : ''}, newest first)`) },
  ];
  for (const r of shown) blocks.push({ type: 'section', text: mrkdwn(rowText(r)) });
  const hidden = rows.length - shown.length;
  if (hidden > 0 || input.truncated)
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(
          `${hidden > 0 ? `… and ${hidden} more` : '… and older ones'} not shown; \`/readiness status <run>\` shows one run.`,
          LIMITS.contextText,
        ),
      ],
    });
  return {
    text: truncate(
      `${TITLE[filter]}: ${shown.map((r) => `${escapeMrkdwn(r.run)} ${GATE_LABEL[r.gate]}`).join('; ')}`,
      LIMITS.messageText,
    ),
    blocks,
  };
}

import type { Logger } from 'pino';
import type { NoticeRef } from '../../attestation/gate-hook.js';
import { isSettled } from '../../gate/terminal.js';
import type { GateMetrics } from '../../observability/metrics.js';
import { reportFromState } from '../../store/redis-store.js';
import type { EvaluationState } from '../../store/types.js';
import { escapeMrkdwn } from '../blocks/limits.js';
import { renderBlockedNotification, renderPassedNotification } from '../blocks/notifications.js';
import type { RenderLedger } from '../ledger.js';
import {
  GATE_NOTICE_EVENT,
  PERMANENT,
  type PostedRef,
  type SlackMessageContent,
  type SlackWriter,
  slackErrorCode,
} from './slack-writer.js';

export interface NotifierOptions {
  writer: SlackWriter;
  ledger: RenderLedger;
  log: Logger;
  /** Channel told about PASSED / BLOCKED and escalations (defaults to the evaluation's channel). */
  notificationChannel?: string | undefined;
  metrics?: GateMetrics | undefined;
  /** Counts each notification posted, per evaluation (the renderer's call counts). */
  onPosted?(evaluationId: string): void;
}

/** Tells people about an evaluation outside its gate message: the channel on a settled gate, the requester when the message cannot be posted. */
export class GateNotifier {
  constructor(private readonly opts: NotifierOptions) {}

  /** PASSED / BLOCKED to the notification channel, once per gate status, naming the requester and linking the gate message. */
  async notifyOutcome(state: EvaluationState): Promise<NoticeRef | null> {
    const ev = state.evaluation;
    if (ev.superseded_by || state.gate === 'pending' || !isSettled(state)) return null;
    const mark = noticeMark(state);
    if (!this.channelFor(state)) return null;
    if ((await this.opts.ledger.notifiedGate(ev.id)) === mark) return null;
    const report = reportFromState(state);
    const links = { requester: ev.requester, gateMessageUrl: await this.gateMessageUrl(state) };
    const msg =
      state.gate === 'passed'
        ? renderPassedNotification(report, ev.id, links)
        : renderBlockedNotification(report, ev.id, links);
    const reopened = ev.reopened ?? 0;
    const ref = await this.postAbout(state, `notice/${ev.id}/${mark}`, 'outcome', msg, {
      gate: state.gate,
      ...(reopened > 0 ? { reopened: String(reopened) } : {}),
    });
    if (!ref) throw new Error('another app process is posting this notification');
    this.opts.onPosted?.(ev.id);
    this.opts.metrics?.evaluations.inc({ outcome: state.gate });
    await this.opts.ledger.setNotifiedGate(ev.id, mark);
    // the evaluation's thread there: attestations are uploaded into it
    return { channel: ref.channel, ts: ref.thread };
  }

  /** The notification channel of an evaluation (else the channel its command ran in). */
  channelFor(state: EvaluationState): string | null {
    return this.opts.notificationChannel ?? state.evaluation.channel ?? state.evaluation.message?.channel ?? null;
  }

  /** A link to the gate message (chat.getPermalink), or null when there is no message or Slack gives none. */
  async gateMessageUrl(state: EvaluationState): Promise<string | null> {
    const ref = state.evaluation.message;
    return ref ? this.opts.writer.permalink(ref) : null;
  }

  /**
   * Posts a message about one evaluation to its notification channel, at most once per `key`. One
   * evaluation, one thread: in the gate message's own channel it replies in the gate message's
   * thread; elsewhere the first message is top-level and later ones reply in its thread. Outcomes
   * (PASSED, BLOCKED) are also shown in the channel (reply_broadcast). null: another process holds
   * the claim; also null when there is no channel to tell. `thread`: the thread the
   * evaluation's messages in that channel share.
   */
  async postAbout(
    state: EvaluationState,
    key: string,
    kind: 'outcome' | 'escalate',
    msg: SlackMessageContent,
    payload: Record<string, string> = {},
  ): Promise<(PostedRef & { thread: string }) | null> {
    const ev = state.evaluation;
    const channel = this.channelFor(state);
    if (!channel) return null;
    const root = ev.message && ev.message.channel === channel ? ev.message : await this.opts.ledger.noticeThread(ev.id);
    const threadTs = root && root.channel === channel ? root.ts : undefined;
    const ref = await this.opts.writer.postOnce(
      key,
      { channel, threadTs, broadcast: kind === 'outcome' },
      { event_type: GATE_NOTICE_EVENT, event_payload: { evaluation_id: ev.id, kind, ...payload } },
      msg,
    );
    if (!ref) return null;
    if (!threadTs) await this.opts.ledger.setNoticeThread(ev.id, { channel: ref.channel, ts: ref.ts });
    return { ...ref, thread: threadTs ?? ref.ts };
  }

  /** The gate message cannot go where the command ran (bot not invited, channel gone): say so in a DM. */
  async tellRequesterNotPosted(requester: string, channel: string, run: string, err: unknown): Promise<void> {
    const { platform } = slackErrorCode(err);
    if (!platform || !PERMANENT.has(platform) || !/^[UW][A-Z0-9]+$/.test(requester)) return;
    const hint =
      platform === 'not_in_channel' || platform === 'channel_not_found'
        ? ' Invite the app to the channel (`/invite @readiness`) and run the command again.'
        : '';
    await this.opts.writer.client.chat
      .postMessage({
        channel: requester,
        text: `I could not post the gate message for \`${escapeMrkdwn(run)}\` in <#${channel}> (${platform}).${hint}`,
      })
      .catch((e: unknown) => this.opts.log.warn({ err: e }, 'could not tell the requester either'));
  }
}

/**
 * What the channel has been told about: the gate status, and after a withdrawal re-opened a
 * PASSED gate, which round it is (`passed#1`), so the gate passing again is announced again.
 */
export function noticeMark(state: EvaluationState): string {
  const n = state.evaluation.reopened ?? 0;
  return n > 0 ? `${state.gate}#${n}` : state.gate;
}

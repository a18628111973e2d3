import type { Logger } from 'pino';
import { approversFor, type ReadinessConfig } from '../config/readiness-config.js';
import type { GateReport } from '../engine.js';
import { currentSignoffs, minApprovalsFor, signoffsOpen, tallyRole } from '../gate/evaluate.js';
import type { GateMetrics } from '../observability/metrics.js';
import type { SignoffRole } from '../policy/schema.js';
import type { SignoffTimerJob, SignoffTimerQueue, SignoffTimerResult } from '../queue/reminders.js';
import { reportFromState } from '../store/redis-store.js';
import type { EvaluationState } from '../store/types.js';
import { approverMentions, renderAskMessage, renderEscalation, renderSignoffDm } from './blocks/asking.js';
import { approvalCount } from './blocks/signoff.js';
import type { RenderLedger } from './ledger.js';
import type { GateNotifier } from './render/notifier.js';
import { PERMANENT, type SlackWriter, slackErrorCode } from './render/slack-writer.js';

/** Metadata event type of the app's ask and reminder replies (how one posted before a crash is found again). */
export const GATE_ASK_EVENT = 'readiness_gate_ask';

/** At most this many people are DMed per role (a user group of hundreds is mentioned, not messaged one by one). */
export const MAX_DMS_PER_ROLE = 50;

const HOUR_MS = 3_600_000;
const USER_ID = /^[UW][A-Z0-9]{2,}$/;

export interface SignoffAskerOptions {
  store: { getState(evaluationId: string): Promise<EvaluationState | null> };
  config: ReadinessConfig;
  writer: SlackWriter;
  notifier: GateNotifier;
  ledger: RenderLedger;
  /** Members of a Slack user group (usergroups.users.list), for DMs. */
  groupMembers(usergroup: string): Promise<string[]>;
  /** Where reminders and escalations are scheduled; null: none (no queue in this process). */
  timers: SignoffTimerQueue | null;
  now(): number;
  log: Logger;
  metrics?: GateMetrics | undefined;
}

/** A role that still waits for approvals, with its tally ("1 of 2"). */
interface PendingRole {
  role: SignoffRole;
  count: string;
  /** Users who already signed this role (not asked again). */
  signed: Set<string>;
}

/**
 * Asks the approvers of each pending role by name once sign-off opens, and reminds and escalates
 * on the team's schedule. Who is asked comes only from READINESS_CONFIG; when comes only from the
 * stored state, read again at every step, so nothing is sent for a gate that no longer waits.
 */
export class SignoffAsker {
  constructor(private readonly opts: SignoffAskerOptions) {}

  /** Called with every state the renderer rendered: asks once, the first time sign-off is open. */
  async observe(state: EvaluationState): Promise<void> {
    const ev = state.evaluation;
    if (!ev.message || (await this.opts.ledger.hasOnce(`asked/${ev.id}`))) return;
    const report = reportFromState(state);
    const pending = this.pendingRoles(state, report);
    if (pending === null || pending.length === 0) return;
    // when sign-off opened: the first time it was seen open, kept across crashes and restarts
    await this.opts.ledger.markOpened(ev.id, this.opts.now());
    const openedAt = (await this.opts.ledger.openedAt(ev.id)) ?? this.opts.now();
    const msg = renderAskMessage({
      modelName: report.model_name,
      run: ev.run,
      roles: pending.map((p) => ({ role: p.role, count: p.count, mentions: this.mentions(state, p) })),
    });
    try {
      const ref = await this.opts.writer.postOnce(
        `ask/${ev.id}`,
        { channel: ev.message.channel, threadTs: ev.message.ts },
        { event_type: GATE_ASK_EVENT, event_payload: { evaluation_id: ev.id, kind: 'ask' } },
        msg,
      );
      if (!ref) throw new Error('another app process is asking the approvers');
    } catch (err) {
      if (!this.permanent(err, 'ask')) throw err;
    }
    await this.scheduleTimers(ev.id, openedAt);
    if (this.opts.config.signoff.ask_by_dm) await this.sendDms(state, report, pending, 'ask');
    await this.opts.ledger.once(`asked/${ev.id}`);
    this.opts.log.info({ evaluation: ev.id, roles: pending.map((p) => p.role) }, 'approvers asked');
  }

  /** A delayed reminder or escalation job: runs only while the gate still waits for sign-offs. */
  async runTimer(job: SignoffTimerJob): Promise<SignoffTimerResult> {
    const now = this.opts.now();
    if (now < job.dueAt) return { kind: 'early', ms: job.dueAt - now };
    const state = await this.opts.store.getState(job.evaluationId);
    const message = state?.evaluation.message;
    if (!state || !message) return { kind: 'done', sent: false };
    const report = reportFromState(state);
    const pending = this.pendingRoles(state, report);
    if (pending === null || pending.length === 0) {
      this.opts.log.info(
        { evaluation: job.evaluationId, kind: job.kind },
        'gate no longer waits for sign-off; nothing sent',
      );
      return { kind: 'done', sent: false };
    }
    const hours = (now - job.openedAt) / HOUR_MS;
    const ev = state.evaluation;
    if (job.kind === 'remind') {
      const ref = await this.opts.writer.postOnce(
        `remind/${ev.id}`,
        { channel: message.channel, threadTs: message.ts },
        { event_type: GATE_ASK_EVENT, event_payload: { evaluation_id: ev.id, kind: 'remind' } },
        renderAskMessage({
          modelName: report.model_name,
          run: ev.run,
          roles: pending.map((p) => ({ role: p.role, count: p.count, mentions: this.mentions(state, p) })),
          reminderAfterHours: hours,
        }),
      );
      if (!ref) throw new Error('another app process is sending this reminder');
      if (this.opts.config.signoff.ask_by_dm) await this.sendDms(state, report, pending, 'remind', hours);
    } else {
      const posted = await this.opts.notifier.postAbout(
        state,
        `escalate/${ev.id}`,
        'escalate',
        renderEscalation({
          modelName: report.model_name,
          run: ev.run,
          evaluationId: ev.id,
          requester: ev.requester,
          missing: pending.map((p) => ({ role: p.role, count: p.count })),
          hours,
          gateMessageUrl: await this.opts.notifier.gateMessageUrl(state),
        }),
      );
      if (!posted) return { kind: 'done', sent: false };
    }
    this.opts.log.info({ evaluation: ev.id, kind: job.kind, hours }, 'sign-off timer sent');
    return { kind: 'done', sent: true };
  }

  /**
   * Required roles still short of approvals, when sign-off is open (every automated check passed,
   * not superseded, nothing rejected); null when the gate does not wait for sign-offs now.
   */
  private pendingRoles(state: EvaluationState, report: GateReport): PendingRole[] | null {
    if (state.evaluation.superseded_by || state.gate !== 'pending' || !signoffsOpen(report.checks)) return null;
    const out: PendingRole[] = [];
    for (const role of report.policy.effective.signoff.required_roles) {
      const t = tallyRole(report.signoffs, report.digest, role, minApprovalsFor(report.policy.effective, role));
      if (t.rejections.length > 0) return null;
      if (t.approved) continue;
      out.push({ role, count: approvalCount(t), signed: new Set(t.approvals.map((a) => a.user)) });
    }
    return out;
  }

  /** Users who cannot sign this role now: the requester (unless self-approval is allowed), who signed it or, one role per person, another role. */
  private excluded(state: EvaluationState, p: PendingRole): Set<string> {
    const ev = state.evaluation;
    const out = new Set(p.signed);
    if (!ev.policy.policy.signoff.allow_self_approval) out.add(ev.requester);
    if (this.opts.config.one_role_per_person)
      for (const s of currentSignoffs(state.signoffs, ev.digest)) if (s.role !== p.role) out.add(s.user);
    return out;
  }

  private mentions(state: EvaluationState, p: PendingRole): string[] {
    const a = approversFor(this.opts.config, p.role);
    const excluded = this.excluded(state, p);
    return approverMentions({ users: a.users.filter((u) => !excluded.has(u)), usergroups: a.usergroups });
  }

  /** Each person who may sign a pending role gets one DM (per kind) with the buttons of every pending role they may sign. */
  private async sendDms(
    state: EvaluationState,
    report: GateReport,
    pending: PendingRole[],
    kind: 'ask' | 'remind',
    hours?: number,
  ): Promise<void> {
    const ev = state.evaluation;
    const rolesOf = new Map<string, SignoffRole[]>();
    for (const p of pending) {
      const a = approversFor(this.opts.config, p.role);
      const people = new Set(a.users);
      for (const g of a.usergroups) {
        try {
          for (const u of await this.opts.groupMembers(g)) people.add(u);
        } catch (err) {
          this.opts.log.warn({ err, usergroup: g }, 'user-group members unavailable; its members are not DMed');
        }
      }
      const excluded = this.excluded(state, p);
      let n = 0;
      for (const u of people) {
        if (!USER_ID.test(u) || excluded.has(u)) continue;
        if (++n > MAX_DMS_PER_ROLE) break;
        rolesOf.set(u, [...(rolesOf.get(u) ?? []), p.role]);
      }
    }
    const url = await this.opts.notifier.gateMessageUrl(state);
    for (const [user, roles] of rolesOf) {
      if (!(await this.opts.ledger.once(`dm/${kind}/${ev.id}/${user}`))) continue;
      const msg = renderSignoffDm({
        evaluationId: ev.id,
        digest: ev.digest,
        modelName: report.model_name,
        run: ev.run,
        requester: ev.requester,
        roles,
        gateMessageUrl: url,
        reminderAfterHours: hours,
      });
      // at most once: the claim above is taken before the call, so a failed DM is not sent again
      await this.opts.writer.client.chat
        .postMessage({ channel: user, text: msg.text, blocks: msg.blocks })
        .catch((err: unknown) => {
          this.opts.metrics?.slackApiErrors.inc({
            method: 'signoff_dm',
            error: slackErrorCode(err).platform ?? 'request_failed',
          });
          this.opts.log.warn({ err, user, evaluation: ev.id }, 'could not DM an approver');
        });
    }
  }

  private async scheduleTimers(evaluationId: string, openedAt: number): Promise<void> {
    const timers = this.opts.timers;
    if (!timers) return;
    const s = this.opts.config.signoff;
    const now = this.opts.now();
    if (s.remind_after_hours !== undefined)
      await timers.schedule(
        { kind: 'remind', evaluationId, openedAt, dueAt: Math.round(openedAt + s.remind_after_hours * HOUR_MS) },
        now,
      );
    if (s.escalate_after_hours !== undefined)
      await timers.schedule(
        { kind: 'escalate', evaluationId, openedAt, dueAt: Math.round(openedAt + s.escalate_after_hours * HOUR_MS) },
        now,
      );
  }

  /** A permanent Slack error on the ask (thread gone, message too long): logged, not retried (the gate message is unaffected). */
  private permanent(err: unknown, what: string): boolean {
    const { platform } = slackErrorCode(err);
    if (!platform || !PERMANENT.has(platform)) return false;
    this.opts.metrics?.slackApiErrors.inc({ method: `signoff_${what}`, error: platform });
    this.opts.log.error({ err, what }, 'asking the approvers failed for good');
    return true;
  }
}

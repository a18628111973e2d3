import type { SignoffRecord } from '../gate/evaluate.js';
import type { SignoffRole } from '../policy/schema.js';
import type { SignoffAttemptResult, WithdrawResult } from '../store/types.js';
import { mentionOf } from './blocks/limits.js';
import { signoffRefusalText } from './blocks/replies.js';
import { ROLE_LABEL, renderReopenedNotification } from './blocks/signoff.js';
import type { SlackServices } from './services.js';

/** A digest that matches no evaluation: the run's files could not be read any more. */
const UNREADABLE_DIGEST = '0'.repeat(64);

export interface SignoffClick {
  evaluationId: string;
  /** Digest the clicked message (or modal) showed. */
  digest: string;
  role: SignoffRole;
  decision: 'approved' | 'rejected';
  user: string;
  reason?: string;
}

/**
 * One sign-off attempt: authorisation (user ids, user groups), then the digest — the message's,
 * and when that is current, the run's files as they are now — then the store's compare-and-set,
 * which refuses self-approval, a second role, a signed role, superseded or not-yet-open
 * evaluations, and audits every attempt.
 */
export async function attemptSignoff(services: SlackServices, click: SignoffClick): Promise<SignoffAttemptResult> {
  const evaluation = await services.store.getEvaluation(click.evaluationId);
  let authorised = false;
  try {
    authorised = await services.approvers.isApprover(click.user, click.role);
  } catch (err) {
    services.log.warn({ err, role: click.role }, 'approver lookup failed; the click is refused');
  }
  let digest = click.digest;
  if (evaluation && authorised && click.digest === evaluation.digest) {
    digest = await services.submitter.currentDigest(evaluation).catch((err: unknown) => {
      services.log.warn({ err, evaluation: evaluation.id }, 'run files unreadable at sign-off');
      return UNREADABLE_DIGEST;
    });
  }
  const result = await services.store.recordSignoff({
    evaluationId: click.evaluationId,
    role: click.role,
    decision: click.decision,
    user: click.user,
    digest,
    authorised,
    allowSelfApproval: evaluation?.policy.policy.signoff.allow_self_approval ?? false,
    onePerPerson: services.config.one_role_per_person,
    ...(click.reason !== undefined ? { reason: click.reason } : {}),
  });
  if (result.ok) services.renderer.schedule(click.evaluationId);
  services.metrics?.signoffs.inc({ role: click.role, decision: result.ok ? click.decision : 'refused' });
  services.log.info(
    {
      evaluation: click.evaluationId,
      role: click.role,
      decision: click.decision,
      user: click.user,
      ok: result.ok,
      reason: result.ok ? undefined : result.reason,
    },
    'sign-off attempt',
  );
  return result;
}

/** A Withdraw click: someone who may sign the role removes its current sign-off (audited by the store). */
export async function attemptWithdraw(
  services: SlackServices,
  click: Omit<SignoffClick, 'decision' | 'reason'>,
): Promise<WithdrawResult> {
  let authorised = false;
  try {
    authorised = await services.approvers.isApprover(click.user, click.role);
  } catch (err) {
    services.log.warn({ err, role: click.role }, 'approver lookup failed; the withdrawal is refused');
  }
  const result = await services.store.withdrawSignoff({
    evaluationId: click.evaluationId,
    role: click.role,
    user: click.user,
    digest: click.digest,
    authorised,
  });
  // a re-opened gate is watched again (worker results, expiry) until it is terminal once more
  if (result.ok) services.renderer.watch(click.evaluationId);
  services.log.info(
    {
      evaluation: click.evaluationId,
      role: click.role,
      user: click.user,
      ok: result.ok,
      reopened: result.ok ? result.reopened : undefined,
      reason: result.ok ? undefined : result.reason,
    },
    'sign-off withdrawal',
  );
  return result;
}

/** What a withdrawal's answer and announcement need (kept with the intake item, so it is small). */
export type WithdrawOutcome =
  | { ok: true; record: SignoffRecord; reopened: boolean }
  | { ok: false; reason: string; message: string };

export function withdrawOutcome(result: WithdrawResult): WithdrawOutcome {
  return result.ok
    ? { ok: true, record: result.record, reopened: result.reopened }
    : { ok: false, reason: result.reason, message: signoffRefusalText(result.reason) };
}

/**
 * Tells the notification channel (else the gate message's channel) that a withdrawal re-opened a
 * PASSED gate: who, which role, and a link to the gate message.
 */
export async function announceReopened(
  services: SlackServices,
  click: { evaluationId: string; role: SignoffRole; user: string },
  withdrawn: SignoffRecord,
): Promise<void> {
  const ev = await services.store.getEvaluation(click.evaluationId);
  if (!ev) return;
  const msg = renderReopenedNotification({
    modelName: ev.policy.policy.model_name ?? ev.run,
    run: ev.run,
    evaluationId: ev.id,
    role: click.role,
    withdrawnBy: click.user,
    withdrawn,
    message: ev.message,
  });
  // in the evaluation's notification thread, like its PASSED and BLOCKED notices
  await services.renderer.announce(ev.id, `reopened/${ev.id}/${ev.reopened ?? 0}`, msg);
}

export function withdrawReply(click: Pick<SignoffClick, 'role'>, result: WithdrawOutcome): string {
  if (result.ok)
    return `↩️ You withdrew the ${ROLE_LABEL[click.role]} ${result.record.decision === 'rejected' ? 'rejection' : 'approval'} (given by ${mentionOf(result.record.user)}).${result.reopened ? ' The gate was PASSED and is re-opened: the channel has been told.' : ''} The role must be signed again.`;
  return `🚫 Your withdrawal of the ${ROLE_LABEL[click.role]} sign-off was refused: ${result.message}`;
}

export function signoffReply(click: Pick<SignoffClick, 'role' | 'decision'>, result: SignoffAttemptResult): string {
  if (result.ok)
    return click.decision === 'approved'
      ? `✅ You approved the deployment as ${ROLE_LABEL[click.role]}.`
      : `❌ You rejected the deployment as ${ROLE_LABEL[click.role]}. The channel has been told why.`;
  return `🚫 Your ${click.decision === 'approved' ? 'approval' : 'rejection'} as ${ROLE_LABEL[click.role]} was refused: ${signoffRefusalText(result.reason)}`;
}

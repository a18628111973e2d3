/**
 * Waiver requests and decisions from Slack: the same re-verification as a sign-off click (the
 * message's digest, and when that is current, the run's files as they are now; the approver
 * directory with user groups), then the store's atomic transition, which audits every attempt.
 */
import type { SignoffRole } from '../policy/schema.js';
import type { WaiverAttemptResult } from '../store/types.js';
import { expiryInstant, waiverRequestProblem } from '../waivers/waivers.js';
import { waiverProblemText, waiverRefusalText } from './blocks/replies.js';
import { ROLE_LABEL } from './blocks/signoff.js';
import type { SlackServices } from './services.js';

/** A digest that matches no evaluation: the run's files could not be read any more. */
const UNREADABLE_DIGEST = '0'.repeat(64);

export interface WaiverRequestClick {
  evaluationId: string;
  digest: string;
  check: string;
  user: string;
  reason: string;
  /** YYYY-MM-DD: the last day the waiver counts (UTC). */
  expiresOn: string;
}

export interface WaiverDecisionClick {
  evaluationId: string;
  digest: string;
  check: string;
  waiverId: string;
  role: SignoffRole;
  user: string;
  decision: 'approved' | 'rejected';
  reason?: string;
}

export type WaiverReply = { ok: true; text: string } | { ok: false; text: string };

async function currentDigest(services: SlackServices, evaluationId: string, shown: string): Promise<string> {
  const evaluation = await services.store.getEvaluation(evaluationId);
  if (!evaluation || shown !== evaluation.digest) return shown;
  return services.submitter.currentDigest(evaluation).catch((err: unknown) => {
    services.log.warn({ err, evaluation: evaluationId }, 'run files unreadable at a waiver click');
    return UNREADABLE_DIGEST;
  });
}

/**
 * Why the clicker may not ask for a waiver of this check (audited as waiver_refused), or null.
 * Checked before the modal opens and again when it is submitted.
 */
export async function waiverRequestRefusal(
  services: SlackServices,
  click: Pick<WaiverRequestClick, 'evaluationId' | 'check' | 'user'> & Partial<WaiverRequestClick>,
): Promise<{ code: string; message: string } | null> {
  const state = await services.store.getState(click.evaluationId);
  if (!state) return { code: 'unknown_evaluation', message: 'This evaluation does not exist (any more).' };
  if (click.user !== state.evaluation.requester)
    return { code: 'not_requester', message: 'Only the person who requested this evaluation may ask for a waiver.' };
  const problem = waiverRequestProblem({
    policy: state.evaluation.policy.policy,
    check: state.checks.find((c) => c.id === click.check),
    checkId: click.check,
    ...(click.reason !== undefined ? { reason: click.reason } : {}),
    ...(click.expiresOn !== undefined ? { expiresOn: click.expiresOn } : {}),
    now: services.store.clock(),
  });
  return problem ? { code: problem.kind, message: waiverProblemText(problem) } : null;
}

export async function attemptWaiverRequest(services: SlackServices, click: WaiverRequestClick): Promise<WaiverReply> {
  const refusal = await waiverRequestRefusal(services, click);
  if (refusal) {
    await services.store.audit('waiver_refused', click.evaluationId, click.user, {
      step: 'request',
      check: click.check,
      reason: refusal.code,
      message: refusal.message,
    });
    return { ok: false, text: `🚫 Your waiver request was refused: ${refusal.message}` };
  }
  const until = expiryInstant(click.expiresOn) as Date;
  const result = await services.store.requestWaiver({
    evaluationId: click.evaluationId,
    check: click.check,
    user: click.user,
    digest: await currentDigest(services, click.evaluationId, click.digest),
    reason: click.reason,
    expiresAt: until.toISOString(),
  });
  log(services, 'waiver request', click, result);
  if (!result.ok) return { ok: false, text: `🚫 Your waiver request was refused: ${waiverRefusalText(result.reason)}` };
  // watched, not only rendered: a running waiver keeps the evaluation from being terminal (gate/terminal.ts),
  // so the poll notices its expiry even on a PASSED or BLOCKED gate
  services.renderer.watch(click.evaluationId);
  const roles = result.waiver.roles.map((r) => ROLE_LABEL[r]).join(' and ');
  return {
    ok: true,
    text: `📝 You asked for a waiver of \`${click.check}\` until ${click.expiresOn}. It counts once ${roles} approved it.`,
  };
}

export async function attemptWaiverDecision(services: SlackServices, click: WaiverDecisionClick): Promise<WaiverReply> {
  let authorised = false;
  try {
    authorised = await services.approvers.isApprover(click.user, click.role);
  } catch (err) {
    services.log.warn({ err, role: click.role }, 'approver lookup failed; the waiver click is refused');
  }
  const result = await services.store.decideWaiver({
    evaluationId: click.evaluationId,
    check: click.check,
    waiverId: click.waiverId,
    role: click.role,
    user: click.user,
    decision: click.decision,
    ...(click.reason !== undefined ? { reason: click.reason } : {}),
    digest: authorised ? await currentDigest(services, click.evaluationId, click.digest) : click.digest,
    authorised,
  });
  log(services, 'waiver decision', click, result);
  const what = click.decision === 'approved' ? 'approval' : 'rejection';
  if (!result.ok)
    return {
      ok: false,
      text: `🚫 Your waiver ${what} as ${ROLE_LABEL[click.role]} was refused: ${waiverRefusalText(result.reason)}`,
    };
  // watched, not only rendered: a running waiver keeps the evaluation from being terminal (gate/terminal.ts),
  // so the poll notices its expiry even on a PASSED or BLOCKED gate
  services.renderer.watch(click.evaluationId);
  if (click.decision === 'rejected')
    return { ok: true, text: `❌ You rejected the waiver of \`${click.check}\` as ${ROLE_LABEL[click.role]}.` };
  return {
    ok: true,
    text:
      result.waiver.status === 'approved'
        ? `✅ You approved the waiver of \`${click.check}\` as ${ROLE_LABEL[click.role]}: it is now in effect.`
        : `✅ You approved the waiver of \`${click.check}\` as ${ROLE_LABEL[click.role]}; other roles still have to approve.`,
  };
}

function log(services: SlackServices, msg: string, click: object, result: WaiverAttemptResult): void {
  services.log.info(
    { ...click, reason: undefined, ok: result.ok, refusal: result.ok ? undefined : result.reason },
    msg,
  );
}

import type { IntakeItem, IntakeSteps } from '../../../queue/intake.js';
import { latestExpiryDate, MAX_WAIVER_DAYS } from '../../../waivers/waivers.js';
import { renderWaiverRejectModal, renderWaiverRequestModal } from '../../blocks/modals.js';
import { renderNotice } from '../../blocks/replies.js';
import { decodeWaiverValue, waiverRoleFromAction } from '../../blocks/waivers.js';
import { tellUser } from '../../notify-user.js';
import type { Replies, SlackServices } from '../../services.js';
import { attemptWaiverDecision, waiverRequestRefusal } from '../../waiver-flow.js';
import { approverWithin, type ButtonArgs, type ClickData, decodeClick, type Where } from '../taken-in.js';

/** A decision button (Approve / Reject waiver): the waiver and the role deciding; null when garbled. */
function decisionButton(data: ClickData) {
  const value = decodeWaiverValue(data.value);
  const role = waiverRoleFromAction(data.actionId);
  return value?.waiverId && role ? { value: { ...value, waiverId: value.waiverId }, role } : null;
}

/** A decision from its button: attempted once per item (the answer is kept with it), told to the decider. */
async function decide(
  services: SlackServices,
  client: Replies['client'],
  steps: IntakeSteps,
  where: Where,
  d: NonNullable<ReturnType<typeof decisionButton>> & { user: string; decision: 'approved' | 'rejected' },
): Promise<void> {
  const click = {
    evaluationId: d.value.evaluationId,
    digest: d.value.digest,
    check: d.value.check,
    waiverId: d.value.waiverId,
    role: d.role,
    user: d.user,
    decision: d.decision,
  };
  const text = await steps.once('decide', async () => (await attemptWaiverDecision(services, click)).text);
  await tellUser(client, where, renderNotice(text));
}

/**
 * After a Request waiver click is taken in and acked: for the evaluation's requester on a check
 * that may be waived the modal opens right away (the trigger id lives 3 s); refusals are
 * answered, and audited, from the intake.
 */
export async function openWaiverRequestModal(
  services: SlackServices,
  { body, client }: ButtonArgs,
  data: ClickData,
): Promise<void> {
  const value = decodeWaiverValue(data.value);
  if (!value) return;
  if (await waiverRequestRefusal(services, { ...value, user: body.user.id })) return;
  const evaluation = await services.store.getEvaluation(value.evaluationId);
  if (!evaluation) return;
  const now = services.store.clock();
  const today = now.toISOString().slice(0, 10);
  const latest = latestExpiryDate(now);
  const initial = new Date(now.getTime() + Math.min(30, MAX_WAIVER_DAYS) * 86_400_000).toISOString().slice(0, 10);
  const title = (await services.store.getState(value.evaluationId))?.checks.find((c) => c.id === value.check)?.title;
  await client.views.open({
    trigger_id: body.trigger_id,
    view: renderWaiverRequestModal({
      metadata: {
        evaluationId: value.evaluationId,
        digest: value.digest,
        check: value.check,
        ...(data.channel ? { channel: data.channel } : {}),
      },
      checkTitle: title ?? value.check,
      modelName: evaluation.policy.policy.model_name ?? evaluation.run,
      run: evaluation.run,
      roles: evaluation.policy.policy.waivers?.[value.check] ?? [],
      initialDate: initial,
      today,
      latestDate: latest,
    }),
  });
}

/** A taken-in Request waiver click: garbled buttons and refusals are audited and answered; the modal did the rest. */
export function processRequestWaiverClick(services: SlackServices, client: Replies['client']) {
  return async function onRequestWaiverItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const decoded = await decodeClick(services, client, item, steps, 'waiver_refused', (d) =>
      decodeWaiverValue(d.value),
    );
    if (!decoded) return;
    const { button: value, where } = decoded;
    const refusal = await waiverRequestRefusal(services, { ...value, user: item.user });
    if (!refusal) return;
    await steps.once('audit', () =>
      services.store.audit('waiver_refused', value.evaluationId, item.user, {
        step: 'request',
        check: value.check,
        reason: refusal.code,
        message: refusal.message,
      }),
    );
    await tellUser(client, where, renderNotice(`🚫 Your waiver request was refused: ${refusal.message}`));
  };
}

/**
 * After a Reject waiver click is taken in and acked: an approver of the role gets the reason
 * modal right away, anyone else is refused (audited) from the intake.
 */
export async function openWaiverRejectModal(
  services: SlackServices,
  { body, client }: ButtonArgs,
  data: ClickData,
): Promise<void> {
  const button = decisionButton(data);
  if (!button) return;
  const { value, role } = button;
  if ((await approverWithin(services, body.user.id, role, 1000)) !== true) return;
  const title = (await services.store.getState(value.evaluationId))?.checks.find((c) => c.id === value.check)?.title;
  await client.views.open({
    trigger_id: body.trigger_id,
    view: renderWaiverRejectModal({
      metadata: {
        evaluationId: value.evaluationId,
        digest: value.digest,
        check: value.check,
        waiverId: value.waiverId,
        role,
        ...(data.channel ? { channel: data.channel } : {}),
      },
      checkTitle: title ?? value.check,
    }),
  });
}

/**
 * A taken-in Approve or Reject waiver click: decided here, except a Reject by an approver of the
 * role, whose reason modal is open (its submission decides).
 */
function processDecisionClick(decision: 'approved' | 'rejected') {
  return (services: SlackServices, client: Replies['client']) =>
    async function onWaiverDecisionItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
      const decoded = await decodeClick(services, client, item, steps, 'waiver_refused', decisionButton);
      if (!decoded) return;
      const {
        button: { value, role },
        where,
      } = decoded;
      if (decision === 'rejected' && (await services.approvers.isApprover(item.user, role).catch(() => false))) return;
      await decide(services, client, steps, where, { value, role, user: item.user, decision });
    };
}

export const processApproveWaiver = processDecisionClick('approved');
export const processRejectWaiverClick = processDecisionClick('rejected');

import type { SignoffRole } from '../../../policy/schema.js';
import type { IntakeItem, IntakeSteps } from '../../../queue/intake.js';
import type { Evaluation } from '../../../store/types.js';
import { renderRejectModal } from '../../blocks/modals.js';
import { renderNotice } from '../../blocks/replies.js';
import { decodeSignoffValue, roleFromAction } from '../../blocks/signoff.js';
import { tellUser } from '../../notify-user.js';
import type { Replies, SlackServices } from '../../services.js';
import {
  announceReopened,
  attemptSignoff,
  attemptWithdraw,
  type SignoffClick,
  signoffReply,
  type WithdrawOutcome,
  withdrawOutcome,
  withdrawReply,
} from '../../signoff-flow.js';
import { publishHome } from '../events/app-home-opened.js';
import {
  approverWithin,
  type ButtonArgs,
  type ClickData,
  clickData,
  decodeClick,
  refuseGarbledClick,
} from '../taken-in.js';

/** Role and evaluation of a sign-off button; null when garbled. */
function signoffButton(data: ClickData) {
  const role = roleFromAction(data.actionId);
  const value = decodeSignoffValue(data.value);
  return role && value ? { role, value } : null;
}

/** The sign-off attempt of a taken-in Approve click; the answer is ephemeral. */
export function processApprove(services: SlackServices, client: Replies['client']) {
  return async function onApproveItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const decoded = await decodeClick(services, client, item, steps, 'signoff_refused', signoffButton);
    if (!decoded) return;
    const {
      data,
      button: { role, value },
      where,
    } = decoded;
    const click = {
      evaluationId: value.evaluationId,
      digest: value.digest,
      role,
      decision: 'approved' as const,
      user: item.user,
    };
    const reply = await steps.once('signoff', async () => signoffReply(click, await attemptSignoff(services, click)));
    await tellUser(client, where, renderNotice(reply));
    if (data.fromHome) await publishHome(services, client, item.user);
  };
}

/** The withdrawal of a taken-in Withdraw click (audited by the store); the answer is ephemeral. */
export function processWithdraw(services: SlackServices, client: Replies['client']) {
  return async function onWithdrawItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const decoded = await decodeClick(services, client, item, steps, 'signoff_withdraw_refused', signoffButton);
    if (!decoded) return;
    const {
      button: { role, value },
      where,
    } = decoded;
    const click = { evaluationId: value.evaluationId, digest: value.digest, role, user: item.user };
    // the store's answer is kept with the item, so a second processing neither withdraws nor announces twice
    const outcome = JSON.parse(
      await steps.once('withdraw', async () => JSON.stringify(withdrawOutcome(await attemptWithdraw(services, click)))),
    ) as WithdrawOutcome;
    if (outcome.ok && outcome.reopened)
      await steps.once('reopened_notice', async () => {
        await announceReopened(services, click, outcome.record);
        return true;
      });
    await tellUser(client, where, renderNotice(withdrawReply(click, outcome)));
  };
}

type RejectBranch =
  | { kind: 'garbled' }
  | { kind: 'refused'; click: SignoffClick }
  | { kind: 'missing' }
  | { kind: 'modal'; evaluation: Evaluation; role: SignoffRole; value: { evaluationId: string; digest: string } };

/**
 * What a Reject click leads to: a garbled button, a refusal (someone who may not sign this role,
 * refused at once instead of being asked for a reason first), an evaluation that is gone, or the
 * reason modal. `lookupMs` bounds the approver lookup (the modal's trigger id lives 3 s).
 */
async function rejectBranch(
  services: SlackServices,
  data: ClickData,
  user: string,
  lookupMs?: number,
): Promise<RejectBranch> {
  const button = signoffButton(data);
  if (!button) return { kind: 'garbled' };
  const { role, value } = button;
  const approver =
    lookupMs === undefined
      ? await services.approvers.isApprover(user, role).catch(() => null)
      : await approverWithin(services, user, role, lookupMs);
  if (approver === false)
    return {
      kind: 'refused',
      click: { evaluationId: value.evaluationId, digest: value.digest, role, decision: 'rejected', user },
    };
  const evaluation = await services.store.getEvaluation(value.evaluationId);
  if (!evaluation) return { kind: 'missing' };
  return { kind: 'modal', evaluation, role, value };
}

/**
 * After a Reject click is taken in and acked: the reason modal opens right away (the trigger id
 * lives 3 s); refusals, garbled buttons and gone evaluations are answered from the intake.
 */
export async function openRejectModal(
  services: SlackServices,
  { body, client }: ButtonArgs,
  data: ClickData,
): Promise<void> {
  const branch = await rejectBranch(services, data, body.user.id, 1000);
  if (branch.kind !== 'modal') return;
  await client.views.open({
    trigger_id: body.trigger_id,
    view: renderRejectModal({
      metadata: {
        evaluationId: branch.value.evaluationId,
        digest: branch.value.digest,
        role: branch.role,
        ...(data.channel ? { channel: data.channel } : {}),
      },
      modelName: branch.evaluation.policy.policy.model_name ?? branch.evaluation.run,
      run: branch.evaluation.run,
    }),
  });
}

/** The part of a taken-in Reject click that is not the modal: refusals and notices. */
export function processReject(services: SlackServices, client: Replies['client']) {
  return async function onRejectItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const data = clickData(item);
    const where = { channel: data.channel, user: item.user };
    const branch = await rejectBranch(services, data, item.user);
    if (branch.kind === 'garbled') await refuseGarbledClick(services, client, item, steps, 'signoff_refused');
    else if (branch.kind === 'refused') {
      const click = branch.click;
      const reply = await steps.once('signoff', async () => signoffReply(click, await attemptSignoff(services, click)));
      await tellUser(client, where, renderNotice(reply));
    } else if (branch.kind === 'missing') {
      await tellUser(client, where, renderNotice('This evaluation does not exist (any more).'));
    }
  };
}

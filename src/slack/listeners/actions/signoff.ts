import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { SignoffRole } from '../../../policy/schema.js';
import { type IntakeItem, type IntakeSteps, type IntakeWriter, intakeId } from '../../../queue/intake.js';
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

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

function channelOf(body: BlockAction): string | undefined {
  return body.channel?.id ?? (body.container as { channel_id?: string } | undefined)?.channel_id;
}

const GARBLED = 'This button does not belong to a gate message of this app.';

/** What a sign-off click carries into the intake (the request's own fields). */
interface ClickData {
  actionId: string;
  value: string;
  channel?: string;
  fromHome: boolean;
  triggerId: string;
}

/** A click taken in: its id is the click's own (team, user, action ts, action id), so a Slack retry is the same item. */
function clickItem(
  kind: 'approve' | 'reject' | 'withdraw',
  { action, body, context }: Pick<ButtonArgs, 'action' | 'body' | 'context'>,
): IntakeItem {
  const channel = channelOf(body);
  const data: ClickData = {
    actionId: action.action_id,
    value: String(action.value ?? ''),
    fromHome: body.view?.type === 'home',
    triggerId: body.trigger_id,
    ...(channel ? { channel } : {}),
  };
  return {
    kind,
    id: intakeId(kind, [body.team?.id ?? body.user.team_id ?? '', body.user.id, action.action_ts, action.action_id]),
    user: body.user.id,
    receivedAt: Date.now(),
    retryNum: typeof context.retryNum === 'number' ? context.retryNum : 0,
    data: { ...data },
  };
}

/**
 * The role and button value of a taken-in sign-off click; a garbled button is audited under
 * `refusedKind`, the clicker told, and null returned.
 */
async function decodeClick(
  services: SlackServices,
  client: Replies['client'],
  item: IntakeItem,
  steps: IntakeSteps,
  refusedKind: string,
) {
  const data = item.data as unknown as ClickData;
  const role = roleFromAction(data.actionId);
  const value = decodeSignoffValue(data.value);
  const where = { channel: data.channel, user: item.user };
  if (!role || !value) {
    await steps.once('audit', () =>
      services.store.audit(refusedKind, null, item.user, {
        reason: 'garbled_button',
        action_id: data.actionId,
        value: data.value.slice(0, 200),
      }),
    );
    await tellUser(client, where, renderNotice(GARBLED));
    return null;
  }
  return { data, role, value, where };
}

/** Approve (after Slack's confirm dialog): taken in durably, acked; the sign-off attempt runs from the intake. */
export function approveAction(_services: SlackServices, intake: IntakeWriter) {
  return async function onApprove(args: ButtonArgs): Promise<void> {
    await intake.take(clickItem('approve', args));
    await args.ack();
  };
}

/** The sign-off attempt of a taken-in Approve click; the answer is ephemeral. */
export function processApprove(services: SlackServices, client: Replies['client']) {
  return async function onApproveItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const decoded = await decodeClick(services, client, item, steps, 'signoff_refused');
    if (!decoded) return;
    const { data, role, value, where } = decoded;
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

/** Withdraw (after Slack's confirm dialog): taken in durably, acked; the withdrawal runs from the intake. */
export function withdrawAction(_services: SlackServices, intake: IntakeWriter) {
  return async function onWithdraw(args: ButtonArgs): Promise<void> {
    await intake.take(clickItem('withdraw', args));
    await args.ack();
  };
}

/** The withdrawal of a taken-in Withdraw click (audited by the store); the answer is ephemeral. */
export function processWithdraw(services: SlackServices, client: Replies['client']) {
  return async function onWithdrawItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const decoded = await decodeClick(services, client, item, steps, 'signoff_withdraw_refused');
    if (!decoded) return;
    const { role, value, where } = decoded;
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
  const role = roleFromAction(data.actionId);
  const value = decodeSignoffValue(data.value);
  if (!role || !value) return { kind: 'garbled' };
  const lookup = services.approvers.isApprover(user, role).catch(() => null);
  const approver =
    lookupMs === undefined
      ? await lookup
      : await Promise.race([lookup, new Promise<null>((r) => setTimeout(() => r(null), lookupMs).unref())]);
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
 * Reject: taken in durably and acked; the reason modal opens right away from here (the trigger id
 * lives 3 s); refusals, garbled buttons and gone evaluations are answered from the intake.
 */
export function rejectAction(services: SlackServices, intake: IntakeWriter) {
  return async function onReject(args: ButtonArgs): Promise<void> {
    const { ack, body, client } = args;
    const item = clickItem('reject', args);
    await intake.take(item);
    await ack();
    const data = item.data as unknown as ClickData;
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
  };
}

/** The part of a taken-in Reject click that is not the modal: refusals and notices. */
export function processReject(services: SlackServices, client: Replies['client']) {
  return async function onRejectItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const data = item.data as unknown as ClickData;
    const where = { channel: data.channel, user: item.user };
    const branch = await rejectBranch(services, data, item.user);
    if (branch.kind === 'garbled') {
      await steps.once('audit', () =>
        services.store.audit('signoff_refused', null, item.user, {
          reason: 'garbled_button',
          action_id: data.actionId,
          value: data.value.slice(0, 200),
        }),
      );
      await tellUser(client, where, renderNotice(GARBLED));
    } else if (branch.kind === 'refused') {
      const click = branch.click;
      const reply = await steps.once('signoff', async () => signoffReply(click, await attemptSignoff(services, click)));
      await tellUser(client, where, renderNotice(reply));
    } else if (branch.kind === 'missing') {
      await tellUser(client, where, renderNotice('This evaluation does not exist (any more).'));
    }
  };
}

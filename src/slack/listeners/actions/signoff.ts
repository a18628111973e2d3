import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { renderRejectModal } from '../../blocks/modals.js';
import { renderNotice } from '../../blocks/replies.js';
import { decodeSignoffValue, roleFromAction } from '../../blocks/signoff.js';
import type { BackgroundWork } from '../../background.js';
import { tellUser } from '../../notify-user.js';
import type { SlackServices } from '../../services.js';
import { attemptSignoff, signoffReply } from '../../signoff-flow.js';
import { publishHome } from '../events/app-home-opened.js';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

function channelOf(body: BlockAction): string | undefined {
  return body.channel?.id ?? (body.container as { channel_id?: string } | undefined)?.channel_id;
}

const GARBLED = 'This button does not belong to a gate message of this app.';

/** Approve (after Slack's confirm dialog): ack, then the sign-off attempt; the answer is ephemeral. */
export function approveAction(services: SlackServices, background: BackgroundWork) {
  return async function onApprove({ ack, action, body, client }: ButtonArgs): Promise<void> {
    await ack();
    const role = roleFromAction(action.action_id);
    const value = decodeSignoffValue(action.value);
    const where = { channel: channelOf(body), user: body.user.id };
    background.run(async () => {
      if (!role || !value) {
        await services.store.audit('signoff_refused', null, body.user.id, { reason: 'garbled_button', action_id: action.action_id, value: String(action.value ?? '').slice(0, 200) });
        await tellUser(client, where, renderNotice(GARBLED));
        return;
      }
      const click = { evaluationId: value.evaluationId, digest: value.digest, role, decision: 'approved' as const, user: body.user.id };
      const result = await attemptSignoff(services, click);
      await tellUser(client, where, renderNotice(signoffReply(click, result)));
      if (body.view?.type === 'home') await publishHome(services, client, body.user.id);
    });
  };
}

/** Reject: open the reason modal right away (the trigger id lives 3 s); checks happen on submit. */
export function rejectAction(services: SlackServices, background: BackgroundWork) {
  return async function onReject({ ack, action, body, client }: ButtonArgs): Promise<void> {
    await ack();
    const role = roleFromAction(action.action_id);
    const value = decodeSignoffValue(action.value);
    const channel = channelOf(body);
    if (!role || !value) {
      background.run(async () => {
        await services.store.audit('signoff_refused', null, body.user.id, { reason: 'garbled_button', action_id: action.action_id, value: String(action.value ?? '').slice(0, 200) });
        await tellUser(client, { channel, user: body.user.id }, renderNotice(GARBLED));
      });
      return;
    }
    // Someone who may not sign this role is refused at once (audited) instead of being asked for a
    // reason first; a slow lookup does not hold up the modal (the trigger id expires after 3 s).
    const approver = await Promise.race([services.approvers.isApprover(body.user.id, role).catch(() => null), new Promise<null>((r) => setTimeout(() => r(null), 1000).unref())]);
    if (approver === false) {
      const click = { evaluationId: value.evaluationId, digest: value.digest, role, decision: 'rejected' as const, user: body.user.id };
      background.run(async () => tellUser(client, { channel, user: body.user.id }, renderNotice(signoffReply(click, await attemptSignoff(services, click)))));
      return;
    }
    const evaluation = await services.store.getEvaluation(value.evaluationId);
    if (!evaluation) {
      background.run(() => tellUser(client, { channel, user: body.user.id }, renderNotice('This evaluation does not exist (any more).')));
      return;
    }
    await client.views.open({
      trigger_id: body.trigger_id,
      view: renderRejectModal({
        metadata: { evaluationId: value.evaluationId, digest: value.digest, role, ...(channel ? { channel } : {}) },
        modelName: evaluation.policy.policy.model_name ?? evaluation.run,
        run: evaluation.run,
      }),
    });
  };
}

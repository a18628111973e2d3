import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { type IntakeItem, type IntakeSteps, type IntakeWriter, intakeId } from '../../../queue/intake.js';
import { latestExpiryDate, MAX_WAIVER_DAYS } from '../../../waivers/waivers.js';
import { renderWaiverRejectModal, renderWaiverRequestModal } from '../../blocks/modals.js';
import { renderNotice } from '../../blocks/replies.js';
import { decodeWaiverValue, waiverRoleFromAction } from '../../blocks/waivers.js';
import { tellUser } from '../../notify-user.js';
import type { Replies, SlackServices } from '../../services.js';
import { attemptWaiverDecision, waiverRequestRefusal } from '../../waiver-flow.js';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

const GARBLED = 'This button does not belong to a gate message of this app.';

interface WaiverClickData {
  actionId: string;
  value: string;
  channel?: string;
}

function channelOf(body: BlockAction): string | undefined {
  return body.channel?.id ?? (body.container as { channel_id?: string } | undefined)?.channel_id;
}

/** A waiver click taken in: its id is the click's own, so a Slack retry is the same item. */
function clickItem(
  kind: string,
  { action, body, context }: Pick<ButtonArgs, 'action' | 'body' | 'context'>,
): IntakeItem {
  const channel = channelOf(body);
  const data: WaiverClickData = {
    actionId: action.action_id,
    value: String(action.value ?? ''),
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

async function garbled(services: SlackServices, client: Replies['client'], item: IntakeItem, steps: IntakeSteps) {
  const data = item.data as unknown as WaiverClickData;
  await steps.once('audit', () =>
    services.store.audit('waiver_refused', null, item.user, {
      reason: 'garbled_button',
      action_id: data.actionId,
      value: data.value.slice(0, 200),
    }),
  );
  await tellUser(client, { channel: data.channel, user: item.user }, renderNotice(GARBLED));
}

/**
 * Request waiver: taken in durably and acked; for the evaluation's requester on a check that
 * may be waived the modal opens right away (the trigger id lives 3 s); refusals are answered,
 * and audited, from the intake.
 */
export function requestWaiverAction(services: SlackServices, intake: IntakeWriter) {
  return async function onRequestWaiver(args: ButtonArgs): Promise<void> {
    const { ack, body, client } = args;
    const item = clickItem('waiver_request_click', args);
    await intake.take(item);
    await ack();
    const data = item.data as unknown as WaiverClickData;
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
  };
}

/** A taken-in Request waiver click: garbled buttons and refusals are audited and answered; the modal did the rest. */
export function processRequestWaiverClick(services: SlackServices, client: Replies['client']) {
  return async function onRequestWaiverItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const data = item.data as unknown as WaiverClickData;
    const value = decodeWaiverValue(data.value);
    if (!value) return garbled(services, client, item, steps);
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
    await tellUser(
      client,
      { channel: data.channel, user: item.user },
      renderNotice(`🚫 Your waiver request was refused: ${refusal.message}`),
    );
  };
}

/** Approve waiver (after Slack's confirm dialog): taken in durably, acked; the decision runs from the intake. */
export function approveWaiverAction(_services: SlackServices, intake: IntakeWriter) {
  return async function onApproveWaiver(args: ButtonArgs): Promise<void> {
    await intake.take(clickItem('waiver_approve', args));
    await args.ack();
  };
}

export function processApproveWaiver(services: SlackServices, client: Replies['client']) {
  return async function onApproveWaiverItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const data = item.data as unknown as WaiverClickData;
    const value = decodeWaiverValue(data.value);
    const role = waiverRoleFromAction(data.actionId);
    if (!value?.waiverId || !role) return garbled(services, client, item, steps);
    const click = {
      evaluationId: value.evaluationId,
      digest: value.digest,
      check: value.check,
      waiverId: value.waiverId,
      role,
      user: item.user,
      decision: 'approved' as const,
    };
    const text = await steps.once('decide', async () => (await attemptWaiverDecision(services, click)).text);
    await tellUser(client, { channel: data.channel, user: item.user }, renderNotice(text));
  };
}

/**
 * Reject waiver: taken in and acked; an approver of the role gets the reason modal right away,
 * anyone else is refused (audited) from the intake.
 */
export function rejectWaiverAction(services: SlackServices, intake: IntakeWriter) {
  return async function onRejectWaiver(args: ButtonArgs): Promise<void> {
    const { ack, body, client } = args;
    const item = clickItem('waiver_reject_click', args);
    await intake.take(item);
    await ack();
    const data = item.data as unknown as WaiverClickData;
    const value = decodeWaiverValue(data.value);
    const role = waiverRoleFromAction(data.actionId);
    if (!value?.waiverId || !role) return;
    const approver = await Promise.race([
      services.approvers.isApprover(body.user.id, role).catch(() => null),
      new Promise<null>((r) => setTimeout(() => r(null), 1000).unref()),
    ]);
    if (approver !== true) return;
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
  };
}

export function processRejectWaiverClick(services: SlackServices, client: Replies['client']) {
  return async function onRejectWaiverItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const data = item.data as unknown as WaiverClickData;
    const value = decodeWaiverValue(data.value);
    const role = waiverRoleFromAction(data.actionId);
    if (!value?.waiverId || !role) return garbled(services, client, item, steps);
    const approver = await services.approvers.isApprover(item.user, role).catch(() => false);
    if (approver) return; // the reason modal is open; its submission decides
    const click = {
      evaluationId: value.evaluationId,
      digest: value.digest,
      check: value.check,
      waiverId: value.waiverId,
      role,
      user: item.user,
      decision: 'rejected' as const,
    };
    const text = await steps.once('decide', async () => (await attemptWaiverDecision(services, click)).text);
    await tellUser(client, { channel: data.channel, user: item.user }, renderNotice(text));
  };
}

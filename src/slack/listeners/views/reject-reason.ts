import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { type IntakeItem, type IntakeSteps, type IntakeWriter, intakeId } from '../../../queue/intake.js';
import { decodeRejectMetadata, readRejectReason } from '../../blocks/modals.js';
import { renderNotice } from '../../blocks/replies.js';
import { REJECT_REASON_BLOCK } from '../../blocks/signoff.js';
import { tellUser } from '../../notify-user.js';
import type { Replies, SlackServices } from '../../services.js';
import { attemptSignoff, signoffReply } from '../../signoff-flow.js';

type ViewArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** What a reject-reason submission carries into the intake. */
interface RejectReasonData {
  privateMetadata: string;
  reason: string;
}

/** The reject modal was submitted: a blank reason keeps the modal open; otherwise it is taken in durably and acked. */
export function rejectReasonSubmitted(_services: SlackServices, intake: IntakeWriter) {
  return async function onRejectReason({ ack, view, body, context }: ViewArgs): Promise<void> {
    const reason = readRejectReason(view.state.values);
    if ('error' in reason) {
      await ack({ response_action: 'errors', errors: { [REJECT_REASON_BLOCK]: reason.error } });
      return;
    }
    const data: RejectReasonData = { privateMetadata: view.private_metadata, reason: reason.reason };
    await intake.take({
      kind: 'reject_reason',
      id: intakeId('reject_reason', [
        body.team?.id ?? '',
        body.user.id,
        view.id,
        view.hash,
        (body as { trigger_id?: string }).trigger_id ?? '',
      ]),
      user: body.user.id,
      receivedAt: Date.now(),
      retryNum: typeof context.retryNum === 'number' ? context.retryNum : 0,
      data: { ...data },
    });
    await ack();
  };
}

/** The rejection attempt of a taken-in reason submission; the answer is ephemeral (or a DM). */
export function processRejectReason(services: SlackServices, client: Replies['client']) {
  return async function onRejectReasonItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const data = item.data as unknown as RejectReasonData;
    const meta = decodeRejectMetadata(data.privateMetadata);
    const where = { channel: meta?.channel, user: item.user };
    if (!meta) {
      await steps.once('audit', () =>
        services.store.audit('signoff_refused', null, item.user, {
          reason: 'garbled_form',
          private_metadata: data.privateMetadata.slice(0, 200),
        }),
      );
      await tellUser(client, where, renderNotice('This form does not belong to a gate message of this app.'));
      return;
    }
    const click = {
      evaluationId: meta.evaluationId,
      digest: meta.digest,
      role: meta.role,
      decision: 'rejected' as const,
      user: item.user,
      reason: data.reason,
    };
    const reply = await steps.once('signoff', async () => signoffReply(click, await attemptSignoff(services, click)));
    await tellUser(client, where, renderNotice(reply));
  };
}

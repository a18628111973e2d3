import type { IntakeItem, IntakeSteps, IntakeWriter } from '../../../queue/intake.js';
import { decodeRejectMetadata, readRejectReason } from '../../blocks/modals.js';
import { renderNotice } from '../../blocks/replies.js';
import { REJECT_REASON_BLOCK } from '../../blocks/signoff.js';
import { tellUser } from '../../notify-user.js';
import type { Replies, SlackServices } from '../../services.js';
import { attemptSignoff, signoffReply } from '../../signoff-flow.js';
import { formData, refuseGarbledForm, takeForm, type ViewArgs } from '../taken-in.js';

/** The reject modal was submitted: a blank reason keeps the modal open; otherwise it is taken in durably and acked. */
export function rejectReasonSubmitted(_services: SlackServices, intake: IntakeWriter) {
  return async function onRejectReason(args: ViewArgs): Promise<void> {
    const { ack, view } = args;
    const reason = readRejectReason(view.state.values);
    if ('error' in reason) {
      await ack({ response_action: 'errors', errors: { [REJECT_REASON_BLOCK]: reason.error } });
      return;
    }
    await takeForm(intake, 'reject_reason', args, { privateMetadata: view.private_metadata, reason: reason.reason });
  };
}

/** The rejection attempt of a taken-in reason submission; the answer is ephemeral (or a DM). */
export function processRejectReason(services: SlackServices, client: Replies['client']) {
  return async function onRejectReasonItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const data = formData(item);
    const meta = decodeRejectMetadata(data.privateMetadata);
    const where = { channel: meta?.channel, user: item.user };
    if (!meta) return refuseGarbledForm(services, client, item, steps, where, 'signoff_refused');
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

import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { decodeRejectMetadata, readRejectReason } from '../../blocks/modals.js';
import { renderNotice } from '../../blocks/replies.js';
import { REJECT_REASON_BLOCK } from '../../blocks/signoff.js';
import type { BackgroundWork } from '../../background.js';
import { tellUser } from '../../notify-user.js';
import type { SlackServices } from '../../services.js';
import { attemptSignoff, signoffReply } from '../../signoff-flow.js';

type ViewArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** The reject modal was submitted: a blank reason keeps the modal open; otherwise the rejection is attempted. */
export function rejectReasonSubmitted(services: SlackServices, background: BackgroundWork) {
  return async function onRejectReason({ ack, view, body, client }: ViewArgs): Promise<void> {
    const reason = readRejectReason(view.state.values);
    if ('error' in reason) {
      await ack({ response_action: 'errors', errors: { [REJECT_REASON_BLOCK]: reason.error } });
      return;
    }
    const meta = decodeRejectMetadata(view.private_metadata);
    await ack();
    const where = { channel: meta?.channel, user: body.user.id };
    background.run(async () => {
      if (!meta) {
        await tellUser(client, where, renderNotice('This form does not belong to a gate message of this app.'));
        return;
      }
      const click = { evaluationId: meta.evaluationId, digest: meta.digest, role: meta.role, decision: 'rejected' as const, user: body.user.id, reason: reason.reason };
      const result = await attemptSignoff(services, click);
      await tellUser(client, where, renderNotice(signoffReply(click, result)));
    });
  };
}

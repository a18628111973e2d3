import type { IntakeItem, IntakeSteps, IntakeWriter } from '../../../queue/intake.js';
import { waiverRequestProblem } from '../../../waivers/waivers.js';
import { decodeWaiverMetadata, readWaiverRejectReason, readWaiverRequest } from '../../blocks/modals.js';
import { renderNotice, waiverProblemText } from '../../blocks/replies.js';
import { WAIVER_EXPIRY_BLOCK, WAIVER_REASON_BLOCK } from '../../blocks/waivers.js';
import { tellUser } from '../../notify-user.js';
import type { Replies, SlackServices } from '../../services.js';
import { attemptWaiverDecision, attemptWaiverRequest } from '../../waiver-flow.js';
import { formData, refuseGarbledForm, takeForm, type ViewArgs } from '../taken-in.js';

/**
 * The waiver request modal was submitted: a missing reason, a missing date, a date in the past or
 * beyond the bound keeps it open with the error; otherwise it is taken in durably and acked.
 */
export function waiverRequestSubmitted(services: SlackServices, intake: IntakeWriter) {
  return async function onWaiverRequest(args: ViewArgs): Promise<void> {
    const { ack, view } = args;
    const read = readWaiverRequest(view.state.values);
    if ('errors' in read) {
      await ack({ response_action: 'errors', errors: read.errors });
      return;
    }
    const meta = decodeWaiverMetadata(view.private_metadata);
    if (meta) {
      const state = await services.store.getState(meta.evaluationId);
      const problem = state
        ? waiverRequestProblem({
            policy: state.evaluation.policy.policy,
            check: state.checks.find((c) => c.id === meta.check),
            checkId: meta.check,
            reason: read.reason,
            expiresOn: read.expiresOn,
            now: services.store.clock(),
          })
        : null;
      if (problem?.kind === 'expiry' || problem?.kind === 'reason') {
        await ack({
          response_action: 'errors',
          errors: {
            [problem.kind === 'expiry' ? WAIVER_EXPIRY_BLOCK : WAIVER_REASON_BLOCK]: waiverProblemText(problem),
          },
        });
        return;
      }
    }
    await takeForm(intake, 'waiver_request', args, {
      privateMetadata: view.private_metadata,
      reason: read.reason,
      expiresOn: read.expiresOn,
    });
  };
}

export function processWaiverRequest(services: SlackServices, client: Replies['client']) {
  return async function onWaiverRequestItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const data = formData(item);
    const meta = decodeWaiverMetadata(data.privateMetadata);
    const where = { channel: meta?.channel, user: item.user };
    if (!meta || data.expiresOn === undefined) return refuseGarbledForm(services, client, item, steps, where);
    const click = {
      evaluationId: meta.evaluationId,
      digest: meta.digest,
      check: meta.check,
      user: item.user,
      reason: data.reason,
      expiresOn: data.expiresOn,
    };
    const text = await steps.once('request', async () => (await attemptWaiverRequest(services, click)).text);
    await tellUser(client, where, renderNotice(text));
  };
}

export function waiverRejectSubmitted(_services: SlackServices, intake: IntakeWriter) {
  return async function onWaiverReject(args: ViewArgs): Promise<void> {
    const { ack, view } = args;
    const read = readWaiverRejectReason(view.state.values);
    if ('error' in read) {
      await ack({ response_action: 'errors', errors: { [WAIVER_REASON_BLOCK]: read.error } });
      return;
    }
    await takeForm(intake, 'waiver_reject_reason', args, {
      privateMetadata: view.private_metadata,
      reason: read.reason,
    });
  };
}

export function processWaiverReject(services: SlackServices, client: Replies['client']) {
  return async function onWaiverRejectItem(item: IntakeItem, steps: IntakeSteps): Promise<void> {
    const data = formData(item);
    const meta = decodeWaiverMetadata(data.privateMetadata);
    const where = { channel: meta?.channel, user: item.user };
    if (!meta?.waiverId || !meta.role) return refuseGarbledForm(services, client, item, steps, where);
    const click = {
      evaluationId: meta.evaluationId,
      digest: meta.digest,
      check: meta.check,
      waiverId: meta.waiverId,
      role: meta.role,
      user: item.user,
      decision: 'rejected' as const,
      reason: data.reason,
    };
    const text = await steps.once('decide', async () => (await attemptWaiverDecision(services, click)).text);
    await tellUser(client, where, renderNotice(text));
  };
}

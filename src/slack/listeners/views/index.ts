import type { App } from '@slack/bolt';
import type { Intake, IntakeWriter } from '../../../queue/intake.js';
import { REJECT_MODAL_CALLBACK } from '../../blocks/signoff.js';
import { WAIVER_REJECT_MODAL, WAIVER_REQUEST_MODAL } from '../../blocks/waivers.js';
import type { Replies, SlackServices } from '../../services.js';
import { processRejectReason, rejectReasonSubmitted } from './reject-reason.js';
import { processWaiverReject, processWaiverRequest, waiverRejectSubmitted, waiverRequestSubmitted } from './waiver.js';

export function register(app: App, services: SlackServices, intake: IntakeWriter): void {
  app.view({ callback_id: REJECT_MODAL_CALLBACK, type: 'view_submission' }, rejectReasonSubmitted(services, intake));
  app.view({ callback_id: WAIVER_REQUEST_MODAL, type: 'view_submission' }, waiverRequestSubmitted(services, intake));
  app.view({ callback_id: WAIVER_REJECT_MODAL, type: 'view_submission' }, waiverRejectSubmitted(services, intake));
}

export function registerProcessors(intake: Intake, services: SlackServices, replies: Replies): void {
  intake.on('reject_reason', processRejectReason(services, replies.client));
  intake.on('waiver_request', processWaiverRequest(services, replies.client));
  intake.on('waiver_reject_reason', processWaiverReject(services, replies.client));
}

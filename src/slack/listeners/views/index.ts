import type { App } from '@slack/bolt';
import type { Intake, IntakeWriter } from '../../../queue/intake.js';
import { REJECT_MODAL_CALLBACK } from '../../blocks/signoff.js';
import type { Replies, SlackServices } from '../../services.js';
import { processRejectReason, rejectReasonSubmitted } from './reject-reason.js';

export function register(app: App, services: SlackServices, intake: IntakeWriter): void {
  app.view({ callback_id: REJECT_MODAL_CALLBACK, type: 'view_submission' }, rejectReasonSubmitted(services, intake));
}

export function registerProcessors(intake: Intake, services: SlackServices, replies: Replies): void {
  intake.on('reject_reason', processRejectReason(services, replies.client));
}

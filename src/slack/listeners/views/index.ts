import type { App } from '@slack/bolt';
import { REJECT_MODAL_CALLBACK } from '../../blocks/signoff.js';
import type { BackgroundWork } from '../../background.js';
import type { SlackServices } from '../../services.js';
import { rejectReasonSubmitted } from './reject-reason.js';

export function register(app: App, services: SlackServices, background: BackgroundWork): void {
  app.view({ callback_id: REJECT_MODAL_CALLBACK, type: 'view_submission' }, rejectReasonSubmitted(services, background));
}

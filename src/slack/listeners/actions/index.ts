import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { APPROVE_ACTION, REJECT_ACTION } from '../../blocks/signoff.js';
import type { BackgroundWork } from '../../background.js';
import type { SlackServices } from '../../services.js';
import { approveAction, rejectAction } from './signoff.js';

export function register(app: App, services: SlackServices, background: BackgroundWork): void {
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: APPROVE_ACTION }, approveAction(services, background));
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: REJECT_ACTION }, rejectAction(services, background));
}

import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Intake, IntakeWriter } from '../../../queue/intake.js';
import { APPROVE_ACTION, REJECT_ACTION, WITHDRAW_ACTION } from '../../blocks/signoff.js';
import type { Replies, SlackServices } from '../../services.js';
import {
  approveAction,
  processApprove,
  processReject,
  processWithdraw,
  rejectAction,
  withdrawAction,
} from './signoff.js';

export function register(app: App, services: SlackServices, intake: IntakeWriter): void {
  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: APPROVE_ACTION },
    approveAction(services, intake),
  );
  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: REJECT_ACTION },
    rejectAction(services, intake),
  );
  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: WITHDRAW_ACTION },
    withdrawAction(services, intake),
  );
}

export function registerProcessors(intake: Intake, services: SlackServices, replies: Replies): void {
  intake.on('approve', processApprove(services, replies.client));
  intake.on('reject', processReject(services, replies.client));
  intake.on('withdraw', processWithdraw(services, replies.client));
}

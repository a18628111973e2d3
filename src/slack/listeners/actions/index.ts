import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Intake, IntakeWriter } from '../../../queue/intake.js';
import { APPROVE_ACTION, REJECT_ACTION, WITHDRAW_ACTION } from '../../blocks/signoff.js';
import { WAIVER_APPROVE_ACTION, WAIVER_REJECT_ACTION, WAIVER_REQUEST_ACTION } from '../../blocks/waivers.js';
import type { Replies, SlackServices } from '../../services.js';
import {
  approveAction,
  processApprove,
  processReject,
  processWithdraw,
  rejectAction,
  withdrawAction,
} from './signoff.js';
import {
  approveWaiverAction,
  processApproveWaiver,
  processRejectWaiverClick,
  processRequestWaiverClick,
  rejectWaiverAction,
  requestWaiverAction,
} from './waiver.js';

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
  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: WAIVER_REQUEST_ACTION },
    requestWaiverAction(services, intake),
  );
  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: WAIVER_APPROVE_ACTION },
    approveWaiverAction(services, intake),
  );
  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: WAIVER_REJECT_ACTION },
    rejectWaiverAction(services, intake),
  );
}

export function registerProcessors(intake: Intake, services: SlackServices, replies: Replies): void {
  intake.on('approve', processApprove(services, replies.client));
  intake.on('reject', processReject(services, replies.client));
  intake.on('withdraw', processWithdraw(services, replies.client));
  intake.on('waiver_request_click', processRequestWaiverClick(services, replies.client));
  intake.on('waiver_approve', processApproveWaiver(services, replies.client));
  intake.on('waiver_reject_click', processRejectWaiverClick(services, replies.client));
}

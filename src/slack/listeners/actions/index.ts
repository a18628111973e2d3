import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Intake, IntakeProcessor, IntakeWriter } from '../../../queue/intake.js';
import { APPROVE_ACTION, REJECT_ACTION, WITHDRAW_ACTION } from '../../blocks/signoff.js';
import { WAIVER_APPROVE_ACTION, WAIVER_REJECT_ACTION, WAIVER_REQUEST_ACTION } from '../../blocks/waivers.js';
import type { Replies, SlackServices } from '../../services.js';
import { type ButtonArgs, type ClickData, takeClick } from '../taken-in.js';
import { openRejectModal, processApprove, processReject, processWithdraw } from './signoff.js';
import {
  openWaiverRejectModal,
  openWaiverRequestModal,
  processApproveWaiver,
  processRejectWaiverClick,
  processRequestWaiverClick,
} from './waiver.js';

/**
 * A button of the gate message or App Home. Every click is taken in durably, then acked; what
 * it leads to runs from the intake (`process`, in whichever app process takes the item), except a
 * modal, which must open from the request itself while its trigger id lives (`open`, after the ack).
 */
interface Button {
  action: string | RegExp;
  /** What its clicks are taken in as: the intake's name for `process`. */
  kind: string;
  open?: (services: SlackServices, args: ButtonArgs, data: ClickData) => Promise<void>;
  process: (services: SlackServices, client: Replies['client']) => IntakeProcessor;
}

const BUTTONS: readonly Button[] = [
  // Approve and Withdraw come after Slack's confirm dialog: nothing to open.
  { action: APPROVE_ACTION, kind: 'approve', process: processApprove },
  { action: REJECT_ACTION, kind: 'reject', open: openRejectModal, process: processReject },
  { action: WITHDRAW_ACTION, kind: 'withdraw', process: processWithdraw },
  {
    action: WAIVER_REQUEST_ACTION,
    kind: 'waiver_request_click',
    open: openWaiverRequestModal,
    process: processRequestWaiverClick,
  },
  { action: WAIVER_APPROVE_ACTION, kind: 'waiver_approve', process: processApproveWaiver },
  {
    action: WAIVER_REJECT_ACTION,
    kind: 'waiver_reject_click',
    open: openWaiverRejectModal,
    process: processRejectWaiverClick,
  },
];

export function register(app: App, services: SlackServices, intake: IntakeWriter): void {
  for (const b of BUTTONS) {
    app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: b.action }, async (args) => {
      const data = await takeClick(intake, b.kind, args);
      await b.open?.(services, args, data);
    });
  }
}

export function registerProcessors(intake: Intake, services: SlackServices, replies: Replies): void {
  for (const b of BUTTONS) intake.on(b.kind, b.process(services, replies.client));
}
